// Package forgetest holds test-only fake forges (GitHub, GitLab) whose every
// request and response is checked against the official OpenAPI descriptions
// copied to testdata/forge-specs. A fake that accepts what the real forge
// would reject, or answers what the real forge never would, hides bugs; the
// validation turns such drift into test failures.
package forgetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecDir returns the absolute path of <module root>/testdata/forge-specs.
// It is derived from this source file's location so that tests of any
// package find the same files whatever their working directory.
func SpecDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("forgetest: cannot locate source file")
	}
	// file is <root>/internal/forge/forgetest/spec.go
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "forge-specs")
}

// Spec is a loaded OpenAPI description plus a router over it.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
}

// LoadSpec loads file (a name inside SpecDir), applies patch (may be nil) to
// encode the known mismatches between the description and real traffic,
// points doc.Servers at serverURL and builds a gorillamux router.
func LoadSpec(t testing.TB, file, serverURL string, patch func(*openapi3.T)) *Spec {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join(SpecDir(), file))
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	if patch != nil {
		patch(doc)
	}
	// The GitHub examples do not always match their own schemas; the
	// schemas are what we validate against, so skip the examples.
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("validate %s: %v", file, err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router for %s: %v", file, err)
	}
	return &Spec{
		Doc:    doc,
		router: router,
		opts: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
}

// Validate wraps next so that every request is routed and validated before
// next sees it, and every response next writes is validated against the
// operation's declared responses. Mismatches fail the test with t.Errorf.
// rewritePath, when non-nil, rewrites the URL path used only for routing
// (GitHub refs contain slashes the router cannot match).
func (s *Spec) Validate(t testing.TB, next http.Handler, rewritePath func(string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("%s %s: read request body: %v", r.Method, r.URL.Path, err)
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		routeReq := r.Clone(r.Context())
		routeReq.Body = io.NopCloser(bytes.NewReader(body))
		if rewritePath != nil {
			u := *r.URL
			u.RawPath = rewritePath(r.URL.EscapedPath())
			p, err := unescapePath(u.RawPath)
			if err != nil {
				t.Errorf("%s %s: rewritten path %q: %v", r.Method, r.URL.Path, u.RawPath, err)
			}
			u.Path = p
			routeReq.URL = &u
		}
		// The router matches against the server URL, which has a host.
		routeReq.URL.Scheme, routeReq.URL.Host = schemeOf(r), r.Host

		route, params, err := s.router.FindRoute(routeReq)
		if err != nil {
			t.Errorf("%s %s: no operation in the description: %v", r.Method, r.URL.Path, err)
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		in := &openapi3filter.RequestValidationInput{
			Request:    routeReq,
			PathParams: params,
			Route:      route,
			Options:    s.opts,
		}
		if err := openapi3filter.ValidateRequest(context.WithoutCancel(r.Context()), in); err != nil {
			t.Errorf("%s %s (%s): request does not match the description: %v", r.Method, r.URL.Path, route.Operation.OperationID, err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"message":%q}`, "request does not match the description")
			return
		}

		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		r = r.WithContext(withOperation(r.Context(), route.Operation.OperationID))
		next.ServeHTTP(&hijackPassthrough{recorder: rec, w: w}, r)
		if rec.hijacked {
			return
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 rec.status,
			Header:                 rec.header,
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		out.SetBodyBytes(rec.body.Bytes())
		// Injected faults (rate limits, 5xx) are not declared by every
		// operation; they are the harness speaking, not the fake's model.
		if rec.header.Get(faultHeader) == "" {
			if err := openapi3filter.ValidateResponse(context.WithoutCancel(r.Context()), out); err != nil {
				t.Errorf("%s %s (%s): response %d does not match the description: %v", r.Method, r.URL.Path, route.Operation.OperationID, rec.status, err)
			}
		}
		rec.header.Del(faultHeader)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// faultHeader marks a response as an injected fault; Validate strips it.
const faultHeader = "X-Forgetest-Fault"

type operationKey struct{}

func withOperation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, operationKey{}, id)
}

// OperationID returns the operation id Validate routed the request to, or ""
// when the request did not pass through Validate.
func OperationID(r *http.Request) string {
	id, _ := r.Context().Value(operationKey{}).(string)
	return id
}

func schemeOf(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func unescapePath(raw string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://x"+raw, nil)
	if err != nil {
		return "", err
	}
	return req.URL.Path, nil
}

// recorder buffers a response so it can be validated before the client sees it.
type recorder struct {
	header   http.Header
	status   int
	wrote    bool
	body     bytes.Buffer
	hijacked bool
}

// hijackPassthrough buffers normal responses but lets the fake hijack the real
// connection (to simulate a dropped connection).
type hijackPassthrough struct {
	*recorder
	w http.ResponseWriter
}

func (h *hijackPassthrough) Header() http.Header { return h.header }

func (h *hijackPassthrough) WriteHeader(code int) {
	if !h.wrote {
		h.status, h.wrote = code, true
	}
}

func (h *hijackPassthrough) Write(p []byte) (int, error) {
	h.wrote = true
	return h.body.Write(p)
}

// Hijack hands over the underlying connection; the response is then not validated.
func (h *hijackPassthrough) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("response writer cannot hijack")
	}
	h.hijacked = true
	return hj.Hijack()
}
