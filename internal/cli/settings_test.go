package cli

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/urfave/cli/v2"

	"github.com/bump-gitops/bump/internal/bump"
	"github.com/bump-gitops/bump/internal/config"
	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/imageref"
)

// parseArgs runs the pure parse step on a command line, as Run does.
func parseArgs(t *testing.T, args ...string) (commandLine, bump.Options, error) {
	t.Helper()
	var (
		cl   commandLine
		opts bump.Options
		perr error
	)
	all := flags()
	app := &cli.App{
		Name: "bump", Flags: all, Writer: io.Discard, ErrWriter: io.Discard,
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			cl = readFlags(c)
			opts, perr = parse(&cl)
			return nil
		},
	}
	if err := app.Run(canonicalArgs(all, append([]string{"bump"}, args...))); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return cl, opts, perr
}

func mustImages(t *testing.T, args ...string) []imageref.Ref {
	t.Helper()
	refs, err := parseImages(args)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestParse: from a command line to bump.Options, with no file, network
// or credentials involved.
func TestParse(t *testing.T) {
	nginx := mustImages(t, "nginx:1.1")
	local := func(edit func(*bump.Options)) bump.Options {
		o := bump.Options{Source: bump.Fixed(nginx), Dir: ".", Mode: bump.WriteFiles, PR: forge.PullRequestSpec{MergeMethod: "squash"}}
		if edit != nil {
			edit(&o)
		}
		return o
	}
	const repo = "https://github.com/acme/manifests.git"
	remote := func(edit func(*bump.Options)) bump.Options {
		return local(func(o *bump.Options) {
			o.RepoURL, o.Mode = repo, bump.OpenPR
			if edit != nil {
				edit(o)
			}
		})
	}
	tests := []struct {
		name string
		args []string
		want bump.Options
	}{
		{"local", []string{"-i", "nginx:1.1"}, local(nil)},
		{"dir and paths", []string{"-i", "nginx:1.1", "-C", "/srv/m", "-p", "apps/../apps/api/", "--path", "a,b"},
			local(func(o *bump.Options) { o.Dir, o.Paths = "/srv/m", []string{"apps/api", "a", "b"} })},
		{"images", []string{"--image", "nginx:1.1", "-i", "docker.io/library/nginx:1.1,redis:7"},
			local(func(o *bump.Options) { o.Source = bump.Fixed(mustImages(t, "nginx:1.1", "redis:7")) })},
		{"dry run", []string{"-i", "nginx:1.1", "-n", "--skip-invalid", "--allow-downgrade"},
			local(func(o *bump.Options) { o.DryRun, o.SkipInvalid, o.AllowDowngrade = true, true, true })},
		{"commit", []string{"-i", "nginx:1.1", "--commit"}, local(func(o *bump.Options) { o.Mode = bump.CommitOnly })},
		{"push", []string{"-i", "nginx:1.1", "--push"}, local(func(o *bump.Options) { o.Mode = bump.Push })},
		{"pr", []string{"-i", "nginx:1.1", "--pr", "--push"}, local(func(o *bump.Options) { o.Mode = bump.OpenPR })},
		{"local push to base", []string{"-i", "nginx:1.1", "--push-to-base"},
			local(func(o *bump.Options) { o.Mode, o.PushToBase = bump.Push, true })},
		{"remote", []string{"-i", "nginx:1.1", "-r", repo}, remote(nil)},
		{"remote no pr", []string{"-i", "nginx:1.1", "-r", repo, "--no-pr"}, remote(func(o *bump.Options) { o.Mode = bump.Push })},
		{"remote push to base", []string{"-i", "nginx:1.1", "-r", repo, "--push-to-base", "--base", "main"},
			remote(func(o *bump.Options) { o.Mode, o.PushToBase, o.Base = bump.Push, true, "main" })},
		{"push to base off", []string{"-i", "nginx:1.1", "-r", repo, "--push-to-base=false", "--branch", "b"},
			remote(func(o *bump.Options) { o.Templates.Branch = "b" })},
		{"templates", []string{"-i", "nginx:1.1", "-r", repo, "--branch", "bump/{{.Names}}", "--message", "m", "--title", "t", "--body", "b"},
			remote(func(o *bump.Options) {
				o.Templates = bump.Templates{Branch: "bump/{{.Names}}", Message: "m", Title: "t", Body: "b"}
			})},
		{"pull request", []string{"-i", "nginx:1.1", "-r", repo, "--label", "a, b", "--label", "c", "--reviewer", "org/team",
			"--assignee", "x\ny", "--draft", "--auto-merge", "--merge-method", "rebase", "--remove-source-branch", "--squash"},
			remote(func(o *bump.Options) {
				o.PR = forge.PullRequestSpec{Labels: []string{"a", "b", "c"}, Reviewers: []string{"org/team"}, Assignees: []string{"x", "y"},
					Draft: true, AutoMerge: true, MergeMethod: "rebase", RemoveSourceBranch: true, Squash: true}
			})},
		{"empty means default", []string{"-i", "nginx:1.1", "--merge-method", "", "--dir", "", "--label", ""}, local(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := parseArgs(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%q:\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestParseErrors: the mistakes the command line alone shows, each a
// usage error that names the flag.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no image given: pass --image NAME:TAG (or set BUMP_IMAGE)"},
		{[]string{"-i", "nginx"}, `invalid image "nginx": needs a tag or a digest`},
		{[]string{"-i", "nginx:1.1", "-i", "nginx:1.2"}, "--image nginx:1.1 and --image nginx:1.2 name the same image with different versions: pass one"},
		{[]string{"-i", "nginx:1.1", "--title", "{{.Nope}}"}, "--title: "},
		{[]string{"-i", "nginx:1.1", "-p", "../up"}, `--path "../up" must be relative and stay inside the repository`},
		{[]string{"-i", "nginx:1.1", "-p", "/abs"}, `--path "/abs" must be relative and stay inside the repository`},
		{[]string{"-i", "nginx:1.1", "--merge-method", "fast"}, `--merge-method "fast": want merge, squash or rebase`},
		{[]string{"-i", "nginx:1.1", "--push-to-base", "--commit-via-api"}, "--commit-via-api works on the head branch; it cannot be combined with --push-to-base"},
		{[]string{"-i", "nginx:1.1", "--push-to-base", "--branch", "b"}, errBranchWithPushToBase.Error()},
	}
	for _, tt := range tests {
		_, _, err := parseArgs(t, tt.args...)
		var ue usageError
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.args, err, tt.want)
		} else if !errorAs(err, &ue) {
			t.Errorf("%q: %v is not a usage error", tt.args, err)
		}
	}
}

// TestLayers: defaults < the manifests repository's file < the pipeline's
// file < the command line, merged in one place.
func TestLayers(t *testing.T) {
	str := func(s string) *string { return &s }
	yes, no := true, false
	own := config.Layer{Base: str("main"), Branch: str("own/{{.Names}}"), Labels: []string{"own"}, MergeMethod: str("merge"), Draft: &yes}
	pipe := config.Layer{Branch: str("pipe/{{.Names}}"), Labels: []string{}, AutoMerge: &yes, Draft: &no}
	cl, _, err := parseArgs(t, "-i", "nginx:1.1", "-r", "https://github.com/acme/m.git", "--merge-method", "rebase")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cl.resolve(own, pipe)
	if err != nil {
		t.Fatal(err)
	}
	opts := cl.options(s)
	want := forge.PullRequestSpec{Labels: []string{}, AutoMerge: true, MergeMethod: "rebase"}
	if opts.Base != "main" || opts.Templates.Branch != "pipe/{{.Names}}" || !reflect.DeepEqual(opts.PR, want) || opts.Mode != bump.OpenPR {
		t.Errorf("got base %q branch %q mode %v pr %+v", opts.Base, opts.Templates.Branch, opts.Mode, opts.PR)
	}

	// A file's push-to-base turns the pull request into a push, and
	// drops its branch; a --branch with it is a mistake.
	toBase := config.Layer{PushToBase: &yes}
	if s, err = cl.resolve(own, toBase); err != nil {
		t.Fatal(err)
	}
	if opts = cl.options(s); opts.Mode != bump.Push || !opts.PushToBase {
		t.Errorf("push-to-base from a file: mode %v", opts.Mode)
	}
	cl, _, _ = parseArgs(t, "-i", "nginx:1.1", "-r", "https://github.com/acme/m.git", "--branch", "b")
	if _, err := cl.resolve(toBase); err != errBranchWithPushToBase {
		t.Errorf("--branch with a file's push-to-base: err = %v", err)
	}
	// The command line's no beats a file's yes.
	cl, _, _ = parseArgs(t, "-i", "nginx:1.1", "-r", "https://github.com/acme/m.git", "--push-to-base=false")
	if s, _ = cl.resolve(toBase); cl.options(s).Mode != bump.OpenPR {
		t.Error("--push-to-base=false did not override the file")
	}
}

func errorAs(err error, target *usageError) bool { return errors.As(err, target) }

// TestCloneSettings: the cloned repository's file is the lowest layer,
// and may not choose what the clone was made with.
func TestCloneSettings(t *testing.T) {
	cl, _, err := parseArgs(t, "-i", "nginx:1.1", "-r", "https://github.com/acme/m.git", "--title", "flag")
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := config.Parse("pipe.yaml", []byte("version: 1\nlabels: [pipe]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := pipe.Resolve("")
	files := configFiles{pipe: pipe, pipeLayers: []config.Layer{ps.Layer()}}
	clone := fstest.MapFS{config.FileName: {Data: []byte("version: 1\nbase: main\nlabels: [own]\ntitle: own\ndraft: yes\n")}}
	s, err := cl.cloneSettings(clone, files, "main")
	if err != nil || s == nil {
		t.Fatalf("settings %v, err %v", s, err)
	}
	if config.Str(s.Title) != "flag" || !reflect.DeepEqual(s.Labels, []string{"pipe"}) || !config.IsTrue(s.Draft) {
		t.Errorf("got title %q labels %q draft %v", config.Str(s.Title), s.Labels, s.Draft)
	}
	if _, err := cl.cloneSettings(clone, files, "release"); err == nil || !strings.HasPrefix(err.Error(), ".bump.yaml:2: base \"main\"") {
		t.Errorf("a cloned file choosing the base: err = %v", err)
	}
	if s, err := cl.cloneSettings(fstest.MapFS{}, files, ""); s != nil || err != nil {
		t.Errorf("no cloned file: %v, %v", s, err)
	}
}
