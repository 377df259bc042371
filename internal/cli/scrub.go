package cli

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/gitrepo"
)

// secretList is every secret this run knows, filled as credentials are
// found (a GitHub App token exists only once minted), and read where
// records leave the process: the log handler and the final error.
type secretList struct {
	mu   sync.Mutex
	list []string
}

func (s *secretList) add(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if v != "" && !slices.Contains(s.list, v) {
			s.list = append(s.list, v)
		}
	}
}

func (s *secretList) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// scrub removes every known secret, and any URL's userinfo, from text.
func (s *secretList) scrub(text string) string {
	if text == "" {
		return text
	}
	return gitrepo.Scrub(errors.New(text), s.all()...).Error()
}

// line is an error as the user reads it: scrubbed, one bounded line.
func (s *secretList) line(err error) string {
	return forge.OneLine(s.scrub(err.Error()))
}

// scrubHandler scrubs every record's message and attributes before the
// wrapped handler formats it, so no call site has to remember to.
type scrubHandler struct {
	next    slog.Handler
	secrets *secretList
}

func (h scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.secrets.scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return scrubHandler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// attr renders a value to text and scrubs it; groups are walked.
func (h scrubHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, x := range g {
			clean[i] = h.attr(x)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindString:
		return slog.String(a.Key, h.secrets.scrub(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.secrets.scrub(err.Error()))
		}
		// Keep the value's own shape (JSON logs) unless it holds a secret.
		if s := v.String(); h.secrets.scrub(s) != s {
			return slog.String(a.Key, h.secrets.scrub(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
