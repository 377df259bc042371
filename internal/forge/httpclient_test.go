package forge

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestOrigin(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"https://API.github.com/", "https://api.github.com:443/repos"},
		{"http://127.0.0.1/x", "http://127.0.0.1:80"},
	} {
		a, _ := Origin(c.a)
		b, _ := Origin(c.b)
		if a != b {
			t.Errorf("Origin(%q) = %q, Origin(%q) = %q; want equal", c.a, a, c.b, b)
		}
	}
	for _, c := range []struct{ a, b string }{
		{"https://h/", "http://h/"},
		{"https://h/", "https://h:8443/"},
		{"https://h/", "https://sub.h/"},
	} {
		a, _ := Origin(c.a)
		b, _ := Origin(c.b)
		if a == b {
			t.Errorf("Origin(%q) == Origin(%q)", c.a, c.b)
		}
	}
	if _, err := Origin("/relative"); err == nil {
		t.Error("a relative URL has an origin")
	}
}

// TestCredentialStaysWithOrigin: the credential goes to its origin only,
// whatever the redirect chain (another port is another origin), and a
// secret header set by an SDK is dropped once the chain leaves the origin.
func TestCredentialStaysWithOrigin(t *testing.T) {
	got := map[string]http.Header{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got["other"] = r.Header.Clone()
		if r.URL.Path == "/back" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		}
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got[r.URL.Path] = r.Header.Clone()
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
		case "/round":
			http.Redirect(w, r, other.URL+"/back?to=http://"+r.Host+"/home", http.StatusTemporaryRedirect)
		}
	}))
	defer origin.Close()
	hc, err := NewHTTPClient(ClientOptions{Credential: Credential{Origin: origin.URL, Header: "Authorization", Value: "Bearer s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/away", "/round"} {
		clear(got)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, origin.URL+path, nil)
		req.Header.Set("Private-Token", "sdk-s3cret")
		req.Header.Set("X-Custom-Key", "sdk-s3cret")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got[path].Get("Authorization") != "Bearer s3cret" {
			t.Errorf("%s: origin did not get the credential", path)
		}
		for k, v := range got["other"] {
			if strings.Contains(strings.Join(v, ""), "s3cret") {
				t.Errorf("%s: the other host got %s", path, k)
			}
		}
	}
	if h := got["/home"]; h == nil || h.Get("Private-Token") != "" {
		t.Errorf("back at the origin after leaving it, the SDK's header came back: %v", h)
	}
}

// TestTarpit: a listener that accepts and never answers costs the
// response-header timeout, not the run.
func TestTarpit(t *testing.T) {
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
			held = append(held, c) // accept, read nothing, answer nothing
		}
	}()
	hc, err := NewHTTPClient(ClientOptions{
		Retry:    RetryOptions{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }},
		Timeouts: Timeouts{ResponseHeader: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := hc.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hung on a tarpit")
	}
}

func TestBodyLimits(t *testing.T) {
	big := strings.Repeat("z", ErrorBodyLimit*3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		io.WriteString(w, big)
	}))
	defer srv.Close()
	hc, err := NewHTTPClient(ClientOptions{Retry: RetryOptions{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL + "/bad")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != ErrorBodyLimit {
		t.Errorf("read %d bytes of an error body, want %d", len(b), ErrorBodyLimit)
	}
	resp, err = hc.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != len(big) {
		t.Errorf("read %d bytes of a success body, want %d", len(b), len(big))
	}
	cb := &cappedBody{rc: io.NopCloser(strings.NewReader("abcdef")), left: 3}
	if _, err := io.ReadAll(cb); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("past the cap: %v", err)
	}
	cb = &cappedBody{rc: io.NopCloser(strings.NewReader("abc")), left: 3}
	if b, err := io.ReadAll(cb); err != nil || string(b) != "abc" {
		t.Errorf("at the cap: %q, %v", b, err)
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("a\r\n  b\tc "); got != "a b c" {
		t.Errorf("OneLine = %q", got)
	}
	long := OneLine(strings.Repeat("é", 1000))
	if len(long) > MaxLineLength+len("… (truncated)") || !strings.HasSuffix(long, "… (truncated)") || !strings.HasPrefix(long, "éé") {
		t.Errorf("long line: %d bytes: %.20q…", len(long), long)
	}
	if strings.ContainsRune(long, '\uFFFD') {
		t.Error("cut inside a rune")
	}
}

func TestCheckSecure(t *testing.T) {
	for _, c := range []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"https://github.com/acme/m.git", false, true},
		{"http://127.0.0.1:8080/acme/m.git", false, true},
		{"http://localhost/acme/m.git", false, true},
		{"http://[::1]:3000/acme/m.git", false, true},
		{"http://gitlab.example.com/acme/m.git", false, false},
		{"HTTP://gitlab.example.com/acme/m.git", false, false},
		{"http://gitlab.example.com/acme/m.git", true, true},
	} {
		err := CheckSecure(c.url, c.allow)
		if (err == nil) != c.ok {
			t.Errorf("CheckSecure(%q, %v) = %v", c.url, c.allow, err)
		}
		if err != nil && (!errors.Is(err, ErrInsecureHTTP) || !strings.Contains(err.Error(), "--allow-insecure-http")) {
			t.Errorf("unclear error: %v", err)
		}
	}
}
