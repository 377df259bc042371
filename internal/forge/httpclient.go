package forge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Credential is one secret header that may be sent to one origin only.
type Credential struct {
	// Origin is the URL the credential was given for; only its scheme,
	// host and port count.
	Origin string
	Header string // e.g. "Authorization", "PRIVATE-TOKEN"
	Value  string
}

// Timeouts bound every connection and request. Zero values take the
// defaults documented on each field.
type Timeouts struct {
	Dial           time.Duration // TCP connect; default 10s
	TLSHandshake   time.Duration // default 10s
	ResponseHeader time.Duration // from request sent to status line; default 60s
	IdleConn       time.Duration // an unused kept-alive connection is closed after; default 90s
	// Request caps one request including retries and reading the body;
	// default 5m. The run's --timeout still bounds the whole run.
	Request time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Dial, 10*time.Second)
	def(&t.TLSHandshake, 10*time.Second)
	def(&t.ResponseHeader, 60*time.Second)
	def(&t.IdleConn, 90*time.Second)
	def(&t.Request, 5*time.Minute)
	return t
}

// ClientOptions configures NewHTTPClient.
type ClientOptions struct {
	// Base, when set, lends its Transport (tests); otherwise a transport
	// with Timeouts is built.
	Base       *http.Client
	Credential Credential
	Retry      RetryOptions
	Timeouts   Timeouts
}

// Body limits: an error body is read for its message only, so a prefix is
// plenty; a success body is JSON bump decodes, and none it asks for comes
// near the cap.
const (
	ErrorBodyLimit   = 64 << 10
	SuccessBodyLimit = 32 << 20
)

// ErrBodyTooLarge is returned by a read past SuccessBodyLimit.
var ErrBodyTooLarge = errors.New("response body too large")

// NewHTTPClient is the one HTTP client bump's forge adapters use. It
// attaches the credential per request, only when the request goes to the
// credential's origin (so a redirect elsewhere, or a URL the API hands
// back, never carries it), strips every header but a few harmless ones when
// a redirect leaves the origin, retries as RetryTransport does, bounds
// every connection and request in time, and every body in size.
func NewHTTPClient(opts ClientOptions) (*http.Client, error) {
	to := opts.Timeouts.withDefaults()
	var base http.RoundTripper
	if opts.Base != nil && opts.Base.Transport != nil {
		base = opts.Base.Transport
	} else {
		base = NewTransport(to)
	}
	var rt http.RoundTripper = NewRetryTransport(limitTransport{next: base}, opts.Retry)
	if opts.Credential.Value != "" {
		origin, err := Origin(opts.Credential.Origin)
		if err != nil {
			return nil, fmt.Errorf("credential origin: %w", err)
		}
		rt = &credentialTransport{origin: origin, cred: opts.Credential, next: rt}
	}
	return &http.Client{Transport: rt, CheckRedirect: checkRedirect, Timeout: to.Request}, nil
}

// NewTransport is an http.Transport with the proxy from the environment and
// every connection phase bounded: a tarpit that accepts and never answers
// costs ResponseHeader, not the run.
func NewTransport(t Timeouts) *http.Transport {
	t = t.withDefaults()
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   t.TLSHandshake,
		ResponseHeaderTimeout: t.ResponseHeader,
		IdleConnTimeout:       t.IdleConn,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          16,
		ForceAttemptHTTP2:     true,
	}
}

// Origin is scheme://host:port of rawURL, lower case, with the port
// spelled out, so that two spellings of one origin compare equal.
func Origin(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute URL", rawURL)
	}
	return originOf(u), nil
}

func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// credentialHeaders are the headers a forge SDK or bump puts a secret in.
// They are removed from any request that leaves the credential's origin,
// whoever set them.
var credentialHeaders = []string{"Authorization", "Private-Token", "Job-Token", "Cookie"}

type credentialTransport struct {
	origin string
	cred   Credential
	next   http.RoundTripper
}

func (t *credentialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if originOf(req.URL) == t.origin {
		r.Header.Set(t.cred.Header, t.cred.Value)
	} else {
		for _, h := range credentialHeaders {
			r.Header.Del(h)
		}
		r.Header.Del(t.cred.Header)
	}
	return t.next.RoundTrip(r)
}

// safeHeaders survive a redirect to another origin; everything else may
// carry a secret under a name no list can foresee.
var safeHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Content-Type": true, "User-Agent": true,
	"X-Github-Api-Version": true,
}

const maxRedirects = 10

// checkRedirect follows up to maxRedirects hops; once the chain has left the
// first request's origin, only safeHeaders go on (net/http rebuilds each hop
// from the first request's headers, so this is decided per hop).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	origin := originOf(via[0].URL)
	crossed := originOf(req.URL) != origin
	for _, v := range via {
		crossed = crossed || originOf(v.URL) != origin
	}
	if crossed {
		for k := range req.Header {
			if !safeHeaders[http.CanonicalHeaderKey(k)] {
				delete(req.Header, k)
			}
		}
		req.URL.User = nil
	}
	return nil
}

// limitTransport bounds what anyone above may read of a body: a prefix of an
// error body (SDKs read it whole into memory), and an error past the cap of
// a success body rather than a silent truncation.
type limitTransport struct{ next http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body = &prefixBody{r: io.LimitReader(resp.Body, ErrorBodyLimit), c: resp.Body}
		if resp.ContentLength > ErrorBodyLimit {
			resp.ContentLength = ErrorBodyLimit
		}
		return resp, nil
	}
	resp.Body = &cappedBody{rc: resp.Body, left: SuccessBodyLimit}
	return resp, nil
}

// prefixBody closes the connection as soon as the prefix is read: go-github
// swaps the body for a copy of what it read and never closes the original,
// which would otherwise hold the connection (and the server's sender) open.
type prefixBody struct {
	r      io.Reader
	c      io.Closer
	closed bool
}

func (b *prefixBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.Close()
	}
	return n, err
}

func (b *prefixBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	return b.c.Close()
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the cap from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: over %d MiB", ErrBodyTooLarge, SuccessBodyLimit>>20)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// MaxLineLength bounds one error line: enough for any message a person
// reads, short enough that a hostile server cannot flood a CI log.
const MaxLineLength = 400

// OneLine flattens s to one line of at most MaxLineLength bytes: CI logs
// and annotations show the first line, and a multi-line or huge message
// from a server must not hide the rest or flood the log.
func OneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxLineLength {
		return s
	}
	cut := MaxLineLength
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (truncated)"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// IsLoopback reports whether host (a name or an address, no port) is this
// machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// ErrInsecureHTTP is returned by CheckSecure for a credential bound for
// plain http on another machine.
var ErrInsecureHTTP = errors.New("refusing to send a credential over plain http")

// CheckSecure refuses rawURL when a credential would travel over plain
// http to anything but loopback, unless allowInsecure.
func CheckSecure(rawURL string, allowInsecure bool) error {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || allowInsecure || IsLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w to %s: use https, or pass --allow-insecure-http if the network is trusted", ErrInsecureHTTP, u.Host)
}
