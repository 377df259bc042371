package gittest

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// IsPush reports whether r carries a push (receive-pack), as opposed to
// its ref advertisement or a fetch.
func IsPush(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack")
}

// IsFetch reports whether r asks for objects (upload-pack).
func IsFetch(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack")
}

// Status answers with an HTTP error status, as an overloaded forge would.
func Status(code int) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, http.StatusText(code), code)
		return true
	}
}

// Drop reads part of the request body, then closes the connection without
// an answer: a connection lost in the middle of a push.
func Drop() Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = io.CopyN(io.Discard, r.Body, 512)
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("gittest: the response writer cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	}
}

// Slow delays the request by d (or until the client gives up), then lets
// it through.
func Slow(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		return false
	}
}

// When applies f only to the requests match selects.
func When(match func(*http.Request) bool, f Fault) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		return match(r) && f(w, r)
	}
}

// Times applies f to the first n requests that reach it, then steps aside.
func Times(n int, f Fault) Fault {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if seen.Add(1) > int64(n) {
			return false
		}
		return f(w, r)
	}
}
