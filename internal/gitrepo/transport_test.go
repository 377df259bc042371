package gitrepo

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/bump-gitops/bump/internal/gitrepo/gittest"
)

// TestCloneRedirectKeepsCredentials: a git host answering 307 to another
// host must not hand that host the token; the clone still works when the
// other host serves the repository anonymously.
func TestCloneRedirectKeepsCredentials(t *testing.T) {
	const secret = "git-tok-c4n4ry-51e2"
	var mu sync.Mutex
	var leaked []string
	var other *gittest.Server
	other = gittest.NewServer(t, gittest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			for k, vs := range r.Header {
				v := strings.Join(vs, " ")
				if dec, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Basic ")); err == nil {
					v += string(dec)
				}
				if strings.Contains(v, secret) {
					leaked = append(leaked, k)
				}
			}
			mu.Unlock()
			// Serve the repository as if it were public.
			r.SetBasicAuth(other.User, other.Password)
			next.ServeHTTP(w, r)
		})
	}))
	other.CreateRepo(t, "acme/manifests", map[string]string{"a.yaml": "image: x:1\n"})
	var sawToken atomic.Bool
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); ok && pw == secret {
			sawToken.Store(true)
		}
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer origin.Close()

	_, err := Clone(t.Context(), CloneOptions{URL: origin.URL + "/acme/manifests.git", Auth: Auth{Password: secret}})
	if err != nil {
		t.Fatalf("clone through the redirect: %v", err)
	}
	if !sawToken.Load() {
		t.Error("the repository's own host did not get the token")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) > 0 {
		t.Errorf("the other host received the token in %v", leaked)
	}
}

// TestGitTarpit: a git host that accepts the connection and never answers
// ends the session once the response-header timeout passes.
func TestGitTarpit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	tr := httpTransport(Timeouts{Dial: time.Second, TLSHandshake: time.Second, ResponseHeader: 100 * time.Millisecond, IdleConn: time.Second})
	ep, err := transport.NewEndpoint("http://" + ln.Addr().String() + "/acme/manifests.git")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sess, err := tr.NewUploadPackSession(ep, nil)
	if err == nil {
		_, err = sess.AdvertisedReferencesContext(ctx)
		sess.Close()
	}
	if ctx.Err() != nil {
		t.Fatal("hung on a tarpit until the test's own deadline")
	}
	if err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") {
		t.Errorf("err = %v", err)
	}
}

// TestTransportInstalled: every Clone and Open goes through the bounded
// transport, not go-git's default (no response-header timeout).
func TestTransportInstalled(t *testing.T) {
	if _, err := (Auth{}).method("https://example.com/acme/m.git"); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"http", "https"} {
		if client.Protocols[scheme] == githttp.DefaultClient {
			t.Errorf("%s: go-git's default transport, with no response-header timeout", scheme)
		}
	}
}
