package bump

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/bump-gitops/bump/internal/imageref"
	"github.com/bump-gitops/bump/internal/manifest"
)

// Templates are Go text/template strings for what a run writes; empty means
// the default. They see the fields of templateData.
type Templates struct {
	Branch  string
	Message string
	Title   string
	Body    string
}

// templateData is what templates can use, e.g. {{.Name}} or {{.Version}}.
type templateData struct {
	Name    string // short name of the first image ("api")
	Names   string // short names of all images, joined with "+" ("api+worker")
	Image   string // familiar name of the first image ("ghcr.io/acme/api")
	Version string // the first image's new version ("v1.2.3")
	Images  []imageData
	Changes []manifest.Change
	Base    string
	Branch  string
	CI      CI
}

type imageData struct{ Name, Short, Version string }

const (
	defaultBranch  = "bump/{{.Names}}"
	defaultMessage = "chore(deploy): bump {{.Subject}}"
	defaultTitle   = "chore(deploy): bump {{.Subject}}"
)

// defaultBody is a Markdown table of every change, then the CI links.
const defaultBody = `This pull request was opened by **bump** and updates {{len .Changes}} image reference{{if ne (len .Changes) 1}}s{{end}}:

| File | Image | From | To |
| --- | --- | --- | --- |
{{range .Changes}}| {{cell .File}}:{{.Line}} | {{cell .Image}} | {{cell .From}} | {{cell .To}} |
{{end}}{{if .CI.SourceURL}}
Source commit: {{.CI.SourceURL}}{{end}}{{if .CI.PipelineURL}}
Pipeline: {{.CI.PipelineURL}}{{end}}
`

func newTemplateData(opts Options, res *manifest.Result, base string) *templateData {
	d := &templateData{Changes: res.Changes, Base: base, CI: opts.CI}
	shorts := make([]string, 0, len(opts.Images))
	for _, ref := range opts.Images {
		short := path.Base(ref.Name)
		d.Images = append(d.Images, imageData{Name: ref.Familiar(), Short: short, Version: ref.Version()})
		if !slices.Contains(shorts, short) {
			shorts = append(shorts, short)
		}
	}
	d.Name, d.Image, d.Version = d.Images[0].Short, d.Images[0].Name, d.Images[0].Version
	slices.Sort(shorts)
	d.Names = strings.Join(shorts, "+")
	return d
}

func newTemplateDataFromOutcome(opts Options, out *Outcome) *templateData {
	d := newTemplateData(opts, &manifest.Result{Changes: out.Changes}, out.Base)
	d.Branch = out.Branch
	return d
}

// Subject names what moved: "ghcr.io/acme/api to v1.2.3", or a list when
// several images moved.
func (d *templateData) Subject() string {
	if len(d.Images) == 1 {
		return d.Image + " to " + d.Version
	}
	parts := make([]string, len(d.Images))
	for i, im := range d.Images {
		parts[i] = im.Name + " to " + im.Version
	}
	return strings.Join(parts, ", ")
}

func render(name, text, fallback string, data *templateData) (string, error) {
	if text == "" {
		text = fallback
	}
	t, err := template.New(name).Funcs(template.FuncMap{"cell": markdownCell}).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("parse %s template: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s template: %w", name, err)
	}
	return b.String(), nil
}

// commitMessage is the rendered first line, then one line per change, and
// last the CI links and the Bumped-by trailer in one trailer block, so
// `git log` alone tells what moved, why, and that bump made it.
func commitMessage(opts Options, d *templateData) (string, error) {
	subject, err := render("message", opts.Templates.Message, defaultMessage, d)
	if err != nil {
		return "", err
	}
	subject = strings.TrimSpace(subject)
	if subject == "" {
		return "", fmt.Errorf("commit message template renders empty")
	}
	var b strings.Builder
	b.WriteString(subject)
	b.WriteString("\n\n")
	for _, c := range d.Changes {
		fmt.Fprintf(&b, "- %s:%d %s %s -> %s\n", c.File, c.Line, c.Image, c.From, c.To)
	}
	b.WriteString("\n")
	if d.CI.SourceURL != "" {
		fmt.Fprintf(&b, "Source: %s\n", d.CI.SourceURL)
	}
	if d.CI.PipelineURL != "" {
		fmt.Fprintf(&b, "Pipeline: %s\n", d.CI.PipelineURL)
	}
	// The trailer is how a later run knows the branch is bump's to move,
	// whatever the --message template says.
	b.WriteString(Trailer + "\n")
	return b.String(), nil
}

// splitMessage splits a commit message into headline and body.
func splitMessage(msg string) (headline, body string) {
	headline, body, _ = strings.Cut(msg, "\n")
	return headline, strings.TrimSpace(body)
}

// markdownCell keeps a value inside its table cell: pipes and newlines
// would otherwise end the cell or the table, and backticks open code spans.
func markdownCell(s string) string {
	r := strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "`", "\\`", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// marker is hidden in the PR body so bump recognises its own pull requests
// for the same set of images.
func marker(images []imageref.Ref) string {
	names := make([]string, len(images))
	for i, ref := range images {
		names[i] = ref.Name
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return "<!-- bump: " + strings.Join(names, " ") + " -->"
}

func containsLine(text, line string) bool {
	for l := range strings.Lines(text) {
		if strings.TrimRight(l, "\r\n") == line {
			return true
		}
	}
	return false
}

// perVersionBranch reports whether a branch template differs per version,
// in which case each bump opens its own pull request and supersedes older ones.
func perVersionBranch(tmpl string) bool {
	return strings.Contains(tmpl, ".Version") || strings.Contains(tmpl, ".Images")
}
