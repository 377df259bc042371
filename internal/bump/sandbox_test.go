package bump

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/manifest"
)

// bombTemplate defines n templates, each calling the one before twice:
// 2^n copies of the innermost text, which ran for minutes and took 12.8
// GiB with n = 40 before the sandbox.
func bombTemplate(n int) string {
	var b strings.Builder
	b.WriteString(`{{define "t0"}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{end}}`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{{define "t%d"}}{{template "t%d"}}{{template "t%d"}}{{end}}`, i, i-1, i-1)
	}
	fmt.Fprintf(&b, `{{template "t%d"}}`, n)
	return b.String()
}

// TestTemplateBombChild is the child process of TestTemplateBomb.
func TestTemplateBombChild(t *testing.T) {
	if os.Getenv("BUMP_TEMPLATE_BOMB_CHILD") == "" {
		t.Skip("run by TestTemplateBomb")
	}
	_, err := render("body", bombTemplate(40), "", sampleData())
	fmt.Printf("error: %v\n", err)
}

// TestTemplateBomb renders the template bomb in a child process limited
// to 1 GiB of address space and 60 s: it must come back with a clear
// error, not run out of memory or time.
func TestTemplateBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `ulimit -v 4194304 && exec "$0" -test.run='^TestTemplateBombChild$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "BUMP_TEMPLATE_BOMB_CHILD=1", "GOMAXPROCS=2")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed after %s: %v\n%.2000s", time.Since(start), err, out)
	}
	if !strings.Contains(string(out), "error: body template: {{define}} and {{block}} are not allowed") {
		t.Fatalf("child output:\n%.2000s", out)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.Logf("bomb refused in %s, child peak RSS %d KiB", time.Since(start).Round(time.Millisecond), ru.Maxrss)
	}
}

func TestRenderSandbox(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"define", `{{define "a"}}x{{end}}{{.Name}}`, "{{define}} and {{block}} are not allowed"},
		{"block", `{{block "a" .}}x{{end}}`, "{{define}} and {{block}} are not allowed"},
		{"template", `{{template "body"}}`, `{{template "body"}} is not allowed`},
		{"range over a huge number", `{{range 100000000000}}{{end}}`, "does more than 1000000 steps in range loops"},
		{"nested ranges", `{{range 100000}}{{range 100000}}{{end}}{{end}}`, "does more than 1000000 steps"},
		{"wide range body", `{{range 100000}}` + strings.Repeat(`{{$n := len $.Changes}}`, 2500) + `{{end}}`, "does more than 1000000 steps"},
		{"printf width", `{{printf "%0999999d" 1}}`, "widths and precisions over 256"},
		{"printf star", `{{printf "%0*d" 999999 1}}`, "* widths are not allowed"},
		{"doubling", `{{$x := printf "%0200d" 1}}` + strings.Repeat(`{{$x = print $x $x}}`, 40), "builds more than 1048576 bytes"},
		{"escaper doubling", `{{$x := "\\\\"}}` + strings.Repeat(`{{$x = js $x}}`, 40), "builds more than 1048576 bytes"},
		{"output cap", `{{range 1000}}{{printf "%0200d" 1}}{{end}}`, "output longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render("body", tc.text, "", sampleData())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("render = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestDefaultBodyFitsItsCap: a bump of many references still renders the
// default body, within its cap, listing the first rows.
func TestDefaultBodyFitsItsCap(t *testing.T) {
	d := sampleData()
	d.Changes = nil
	for i := range 5000 {
		d.Changes = append(d.Changes, manifest.Change{File: fmt.Sprintf("apps/some/rather/long/path/to/a/deployment-%04d.yaml", i), Line: i + 1, Image: "ghcr.io/acme/api", From: "v1.2.2", To: "v1.2.3"})
	}
	body, err := render("body", "", defaultBody, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "deployment-0099.yaml") || strings.Contains(body, "deployment-0100.yaml") || !strings.Contains(body, "…and 4900 more") {
		t.Errorf("body:\n%.3000s", body)
	}
}

func TestRenderCapsPerTemplate(t *testing.T) {
	long := strings.Repeat("a", 300)
	if _, err := render("branch", long, "", sampleData()); err == nil || !strings.Contains(err.Error(), "output longer than 255 bytes") {
		t.Errorf("branch of 300 bytes: %v", err)
	}
	if _, err := render("title", strings.Repeat("a", 2000), "", sampleData()); err == nil {
		t.Errorf("title of 2000 bytes rendered")
	}
	if got, err := render("title", long, "", sampleData()); err != nil || got != long {
		t.Errorf("title of 300 bytes: %v", err)
	}
}

func TestCheckTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"branch", "", ""},
		{"branch", "deploy/{{.Name}}-{{.Version}}", ""},
		{"body", "{{range .Changes}}{{.File}}:{{.Line}} {{cell .Image}}{{end}} {{.CI.PipelineURL}} {{.Subject}}", ""},
		{"title", "{{range $i, $im := .Images}}{{$im.Short}}{{end}} {{with $.CI}}{{.SourceURL}}{{end}}", ""},
		// A misspelt field fails even on a path the sample does not take,
		// and the error lists the fields that exist.
		{"title", "bump {{.Nme}}", "title template: no field .Nme; templates can use .Omitted .SkippedList .SkippedOmitted .Subject .Table .WarningList .WarningsOmitted .Name .Names .Image .Version .Images .Changes .Base .Branch .CI .Skipped .Warnings .Promotion; each of .Images: .Name .Short .Version .Previous .SourceURL .PipelineURL; each of .Changes: .File .Line .Image .From .To; .CI: .SourceURL .PipelineURL"},
		{"body", `{{if eq .Name "nope"}}{{.Imagez}}{{end}}`, "no field .Imagez"},
		{"message", `{{range .Changes}}{{.Flie}}{{end}}`, "no field .Flie"},
		{"message", `{{$.CI.Pipeline}}`, "no field .Pipeline"},
		{"message", `{{.Name | nosuchfunc}}`, `function "nosuchfunc" not defined`},
		{"message", `{{.Name`, "parse message template"},
		// A field of the wrong type fails when the sample is rendered.
		{"message", `{{.Images.Name}}`, "render message template"},
		{"body", `{{define "x"}}{{end}}`, "not allowed"},
		// The branch must render to a name git accepts.
		{"branch", "refs/tags/v1", `invalid branch name "refs/tags/v1"`},
		{"branch", "bump/{{.Image}}:{{.Version}}", `branch template renders "bump/ghcr.io/acme/api:v1.2.3" for a sample image: invalid branch name`},
		{"branch", "-x", "invalid branch name"},
		{"message", "{{if false}}x{{end}}  ", "message template renders empty"},
		{"title", " ", "title template renders empty"},
		{"body", " ", ""},
	} {
		err := CheckTemplate(tc.name, tc.text)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckTemplate(%s, %q) = %v, want %q", tc.name, tc.text, err, tc.want)
		}
	}
}

// FuzzRender: any template text renders or fails, within the body's cap,
// without a panic (the fuzzer's own timeout catches a runaway).
func FuzzRender(f *testing.F) {
	f.Add(defaultBody)
	f.Add(`{{range $i, $c := .Changes}}{{printf "%-20s" $c.File}}{{range $.Images}}{{js .Name}}{{end}}{{end}}`)
	f.Add(`{{with .CI}}{{.SourceURL | urlquery}}{{else}}{{html $.Subject}}{{end}}`)
	f.Add(`{{$x := 1}}{{range 3}}{{$x = print $x $x}}{{end}}{{$x}}`)
	f.Fuzz(func(t *testing.T, text string) {
		out, err := render("body", text, "x", sampleData())
		if err == nil && len(out) > outputCaps["body"] {
			t.Fatalf("rendered %d bytes, over the cap", len(out))
		}
	})
}
