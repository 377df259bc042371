package bump

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

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

	// Skipped lists references bump found and left alone (a file that does
	// not parse, a downgrade…): a reviewer must see what did not move.
	Skipped  []manifest.Skip
	Warnings []manifest.Skip // rewritten files to look at

	// Promotion names the environments of a `bump promote`; zero for a
	// plain bump.
	Promotion Promotion
}

// Promotion is a run that moves the versions one environment runs into
// another: the names of both, as the config file spells them.
type Promotion struct{ From, To string }

// imageData is one image that moved; Previous is the version it moved
// from (the first change's, "" when none changed). SourceURL and
// PipelineURL are where a promoted version came from, when its bump commit said.
type imageData struct{ Name, Short, Version, Previous, SourceURL, PipelineURL string }

const (
	defaultBranch  = "bump/{{.Names}}"
	defaultMessage = "chore(deploy): bump {{.Subject}}"
	defaultTitle   = "chore(deploy): bump {{.Subject}}"
)

// The defaults of a promotion name both environments.
const (
	promoteBranch  = "promote/{{.Promotion.From}}-to-{{.Promotion.To}}"
	promoteMessage = "chore(deploy): promote {{.Subject}} from {{.Promotion.From}} to {{.Promotion.To}}"
	promoteTitle   = promoteMessage
	promoteBody    = `This pull request was opened by **bump** and promotes from **{{cell .Promotion.From}}** to **{{cell .Promotion.To}}**:
{{range .Images}}
- {{cell .Name}}: {{cell .Previous}} → {{cell .Version}}{{with .SourceURL}}
  Source commit: {{cell .}}{{end}}{{with .PipelineURL}}
  Pipeline: {{cell .}}{{end}}{{end}}

It updates {{len .Changes}} image reference{{if ne (len .Changes) 1}}s{{end}}:
` + bodyTable
)

// defaultBody is a Markdown table of every change, then the CI links.
const defaultBody = `This pull request was opened by **bump** and updates {{len .Changes}} image reference{{if ne (len .Changes) 1}}s{{end}}:
` + bodyTable

// bodyTable is the default body after its first line.
const bodyTable = `
| File | Image | From | To |
| --- | --- | --- | --- |
{{range .Table}}| {{cell .File}}:{{.Line}} | {{cell .Image}} | {{cell .From}} | {{cell .To}} |
{{end}}{{with .Omitted}}
…and {{.}} more (see the commit).
{{end}}{{if .Skipped}}
Left alone (check by hand):
{{range .SkippedList}}- {{cell .File}}{{if .Line}}:{{.Line}}{{end}} {{cell .Image}}: {{cell .Reason}}
{{end}}{{with .SkippedOmitted}}- …and {{.}} more (see the run's output)
{{end}}{{end}}{{if .Warnings}}
Warnings:
{{range .WarningList}}- {{cell .File}}{{if .Line}}:{{.Line}}{{end}}: {{cell .Reason}}
{{end}}{{with .WarningsOmitted}}- …and {{.}} more (see the run's output)
{{end}}{{end}}{{if .CI.SourceURL}}
Source commit: {{.CI.SourceURL}}{{end}}{{if .CI.PipelineURL}}
Pipeline: {{.CI.PipelineURL}}{{end}}
`

// newTemplateData describes a rewrite of refs onto base, for templates.
func newTemplateData(refs []imageref.Ref, ci CI, res *manifest.Result, base string) *templateData {
	d := &templateData{Changes: res.Changes, Warnings: res.Warnings, Base: base, CI: ci}
	for _, sk := range res.Skipped {
		if sk.Image != "" { // a skip without an image is about a file, not a deploy
			d.Skipped = append(d.Skipped, sk)
		}
	}
	images := changedImages(refs, res.Changes)
	shorts := make([]string, 0, len(images))
	for _, ref := range images {
		short := path.Base(ref.Name)
		d.Images = append(d.Images, imageData{Name: ref.Familiar(), Short: short, Version: ref.Version(), Previous: previous(ref, res.Changes)})
		if !slices.Contains(shorts, short) {
			shorts = append(shorts, short)
		}
	}
	d.Name, d.Image, d.Version = d.Images[0].Short, d.Images[0].Name, d.Images[0].Version
	slices.Sort(shorts)
	d.Names = strings.Join(shorts, "+")
	return d
}

// addOrigins fills in where each image's version came from.
func (d *templateData) addOrigins(origins map[string]Origin) {
	for i, im := range d.Images {
		if o, ok := origins[im.Name+" "+im.Version]; ok {
			d.Images[i].SourceURL, d.Images[i].PipelineURL = o.Source, o.Pipeline
		}
	}
}

// imageRef is the image and its new version as one reference
// ("ghcr.io/acme/api:v1.2.3", "…@sha256:…").
func imageRef(im imageData) string {
	if strings.HasPrefix(im.Version, "sha256:") {
		return im.Name + "@" + im.Version
	}
	return im.Name + ":" + im.Version
}

// previous is the version the first change to ref moved from.
func previous(ref imageref.Ref, changes []manifest.Change) string {
	for _, c := range changes {
		if c.Image == ref.Familiar() || ref.Matches(c.Image) {
			return c.From
		}
	}
	return ""
}

// fallback is the default text of a template: a promotion's names both
// environments.
func fallback(name string, d *templateData) string {
	promote := d.Promotion != (Promotion{})
	switch name {
	case "branch":
		return cmpOr(promote, promoteBranch, defaultBranch)
	case "message":
		return cmpOr(promote, promoteMessage, defaultMessage)
	case "title":
		return cmpOr(promote, promoteTitle, defaultTitle)
	}
	return cmpOr(promote, promoteBody, defaultBody)
}

func cmpOr(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// changedImages keeps the images a change names, so that an image found
// nowhere does not name the branch or the title; all of them when none
// matches (nothing changed, the data only describes the request).
func changedImages(images []imageref.Ref, changes []manifest.Change) []imageref.Ref {
	var out []imageref.Ref
	for _, ref := range images {
		if slices.ContainsFunc(changes, func(c manifest.Change) bool {
			return c.Image == ref.Familiar() || ref.Matches(c.Image)
		}) {
			out = append(out, ref)
		}
	}
	if len(out) == 0 {
		return images
	}
	return out
}

func newTemplateDataFromOutcome(refs []imageref.Ref, ci CI, out *Outcome) *templateData {
	d := newTemplateData(refs, ci, &manifest.Result{Changes: out.Changes, Skipped: out.Skipped, Warnings: out.Warnings}, out.Base)
	d.Branch = out.Branch
	return d
}

// tableRows bounds the default body's table, so a bump of hundreds of
// references still fits the body's cap (and a forge's description).
const tableRows = 100

// Table is the changes the default body lists: the first tableRows.
func (d *templateData) Table() []manifest.Change {
	return d.Changes[:min(len(d.Changes), tableRows)]
}

// Omitted is how many changes Table leaves out.
func (d *templateData) Omitted() int {
	return len(d.Changes) - len(d.Table())
}

// SkippedList is the skipped references the default body lists.
func (d *templateData) SkippedList() []manifest.Skip {
	return d.Skipped[:min(len(d.Skipped), tableRows)]
}

// SkippedOmitted is how many skipped references SkippedList leaves out.
func (d *templateData) SkippedOmitted() int {
	return len(d.Skipped) - len(d.SkippedList())
}

// WarningList is the warnings the default body lists.
func (d *templateData) WarningList() []manifest.Skip {
	return d.Warnings[:min(len(d.Warnings), tableRows)]
}

// WarningsOmitted is how many warnings WarningList leaves out.
func (d *templateData) WarningsOmitted() int {
	return len(d.Warnings) - len(d.WarningList())
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

// render executes a template (fallback when text is empty) in the
// sandbox of parseTemplate, stopping at the template's output cap.
func render(name, text, fallback string, data *templateData) (string, error) {
	if text == "" {
		text = fallback
	}
	b := newBudget()
	t, err := parseTemplate(name, text, b)
	if err != nil {
		return "", err
	}
	limit := outputCaps[name]
	if limit == 0 {
		limit = defaultOutputCap
	}
	w := &cappedBuffer{max: limit}
	if err := t.Execute(w, data); err != nil {
		if errors.Is(err, errTooLong) {
			return "", fmt.Errorf("render %s template: output longer than %d bytes", name, limit)
		}
		return "", fmt.Errorf("render %s template: %w", name, err)
	}
	return w.String(), nil
}

// commitMessage is the rendered first line, then one line per change, and
// last the CI links and the Bumped-by trailer in one trailer block, so
// `git log` alone tells what moved, why, and that bump made it.
// tmpl is the --message template ("" for the default).
func commitMessage(tmpl string, d *templateData) (string, error) {
	subject, err := render("message", tmpl, fallback("message", d), d)
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
	// The same provenance as git trailers, for machines (a promotion
	// reads where a version came from).
	for _, im := range d.Images {
		fmt.Fprintf(&b, "Bump-Image: %s\n", imageRef(im))
	}
	if d.CI.SourceURL != "" {
		fmt.Fprintf(&b, "Bump-Source: %s\n", d.CI.SourceURL)
	}
	if d.CI.PipelineURL != "" {
		fmt.Fprintf(&b, "Bump-Pipeline: %s\n", d.CI.PipelineURL)
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
