// Command bump rewrites container image references in a Kubernetes
// manifests repository and proposes the change as a pull request.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bump-gitops/bump/internal/cli"
)

func main() {
	// A signal cancels the context, so every network call and the retry
	// loop stop promptly and deferred clean-up still runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
