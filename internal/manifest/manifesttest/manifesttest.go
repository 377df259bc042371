// Package manifesttest generates synthetic manifest trees for benchmarks and
// tests of the rewrite engine.
package manifesttest

import (
	"fmt"
	"os"
	"path/filepath"
)

const deployment = `# Generated for benchmarks: service %[1]d.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%[1]d
  labels:
    app.kubernetes.io/name: svc-%[1]d
    app.kubernetes.io/part-of: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-%[1]d
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc-%[1]d
    spec:
      containers:
        - name: app
          image: %[2]s:v1.0.%[3]d # {"$imagepolicy": "flux-system:svc-%[1]d"}
          ports:
            - containerPort: 8080
          env:
            - name: LOG_LEVEL
              value: info
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
        - name: proxy
          image: docker.io/envoyproxy/envoy:v1.31.0
`

// Tree describes a generated tree.
type Tree struct {
	Files int   // number of manifest files
	Hits  int   // files that reference the image
	Bytes int64 // total size of the files
}

// Generate writes files Deployments under dir, 100 per directory. Every
// hitEvery-th file (0 = none) uses image; the others use images of their own
// (ghcr.io/acme/svc-N), so they do not mention it.
func Generate(dir string, files, hitEvery int, image string) (Tree, error) {
	var t Tree
	for i := range files {
		sub := filepath.Join(dir, "apps", fmt.Sprintf("team-%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return t, fmt.Errorf("generate: %w", err)
			}
		}
		img := fmt.Sprintf("ghcr.io/acme/svc-%d", i)
		if hitEvery > 0 && i%hitEvery == 0 {
			img = image
			t.Hits++
		}
		data := fmt.Appendf(nil, deployment, i, img, i%10)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("svc-%d.yaml", i)), data, 0o644); err != nil {
			return t, fmt.Errorf("generate: %w", err)
		}
		t.Files++
		t.Bytes += int64(len(data))
	}
	return t, nil
}
