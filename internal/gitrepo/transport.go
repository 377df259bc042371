package gitrepo

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Timeouts bound every git-over-HTTP connection.
type Timeouts struct {
	Dial, TLSHandshake, ResponseHeader, IdleConn time.Duration
}

// defaultTimeouts leave room for a server that computes a large pack
// before its first byte, and none for a tarpit that never answers.
var defaultTimeouts = Timeouts{Dial: 10 * time.Second, TLSHandshake: 10 * time.Second, ResponseHeader: 2 * time.Minute, IdleConn: 90 * time.Second}

// httpTransport is go-git's smart-HTTP client over a transport whose
// every phase is bounded. go-git itself strips credentials when a redirect
// leaves the repository's origin (TestCloneRedirectKeepsCredentials).
func httpTransport(t Timeouts) transport.Transport {
	rt := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		IdleConnTimeout:       t.IdleConn,
		ForceAttemptHTTP2:     true,
	}
	return githttp.NewClient(&http.Client{Transport: rt})
}

// go-git looks transports up in a process-wide table, with no per-call
// choice; installing the bounded one once, before the first clone, is
// the only way to give its connections timeouts (its default has no
// response-header timeout, so a tarpit would hang a run forever).
var installOnce sync.Once

func boundHTTP() {
	installOnce.Do(func() {
		t := httpTransport(defaultTimeouts)
		client.InstallProtocol("https", t)
		client.InstallProtocol("http", t)
	})
}
