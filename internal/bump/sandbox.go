package bump

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/bump-gitops/bump/internal/gitrepo"
	"github.com/bump-gitops/bump/internal/manifest"
)

// Templates may come from a cloned repository's .bump.yaml, so they are
// hostile input. A template runs in a small sandbox: it may not define or
// call named templates (the only way to recurse), every range iteration
// draws the size of its body from one step budget, every string a
// function builds draws from one byte budget, and the output stops at a per-template cap. Work and
// memory are then bounded by these numbers, not by the template.
const (
	maxTemplateSource = 64 << 10   // bytes of template text
	maxRangeSteps     = 1_000_000  // nodes evaluated in range bodies per rendering
	maxFuncBytes      = 1 << 20    // bytes built by functions per rendering
	maxFormatWidth    = 256        // largest printf width or precision
	defaultOutputCap  = 64 << 10   // bytes of output when a template has no cap of its own
	stepFunc          = "bumpStep" // the function called at the top of each range iteration
	rangeStepCost     = 10         // what an iteration costs besides its body (the step call itself)
)

// outputCaps bound what each template may render: a branch name must fit a
// ref, a title a forge's title field, a body a forge's description.
var outputCaps = map[string]int{
	"branch":  255,
	"title":   1 << 10,
	"message": 16 << 10,
	"body":    64 << 10,
}

var errTooLong = errors.New("output too long")

// TemplateNames are the templates a run renders, in the order they are checked.
var TemplateNames = []string{"branch", "message", "title", "body"}

// Get returns the template of that name ("branch", "message", "title", "body").
func (t Templates) Get(name string) string {
	switch name {
	case "branch":
		return t.Branch
	case "message":
		return t.Message
	case "title":
		return t.Title
	case "body":
		return t.Body
	}
	return ""
}

// CheckTemplate parses a template and renders it once against sample data,
// so a mistake shows before anything is cloned: a field that does not
// exist, a construct the sandbox refuses, an output over the cap, and for
// the branch, a name git would refuse. An empty text is the default and
// always passes.
func CheckTemplate(name, text string) error {
	if text == "" {
		return nil
	}
	if err := checkFields(name, text); err != nil {
		return err
	}
	out, err := render(name, text, "", sampleData())
	if err != nil {
		return err
	}
	if (name == "message" || name == "title") && strings.TrimSpace(out) == "" {
		return fmt.Errorf("%s template renders empty for a sample image", name)
	}
	if name != "branch" {
		return nil
	}
	if err := gitrepo.ValidBranchName(out); err != nil {
		if strings.Contains(text, "{{") {
			return fmt.Errorf("branch template renders %q for a sample image: %w", out, err)
		}
		return err
	}
	return nil
}

// sampleData is what a template sees on a typical run with two images,
// every field filled, so that conditionals on them take both paths.
func sampleData() *templateData {
	return &templateData{
		Name: "api", Names: "api+worker", Image: "ghcr.io/acme/api", Version: "v1.2.3",
		Images: []imageData{
			{Name: "ghcr.io/acme/api", Short: "api", Version: "v1.2.3"},
			{Name: "ghcr.io/acme/worker", Short: "worker", Version: "v1.2.3"},
		},
		Changes: []manifest.Change{
			{File: "apps/api.yaml", Line: 3, Image: "ghcr.io/acme/api", From: "v1.2.2", To: "v1.2.3"},
			{File: "apps/worker.yaml", Line: 7, Image: "ghcr.io/acme/worker", From: "v1.2.2", To: "v1.2.3"},
		},
		Base:   "main",
		Branch: "bump/api+worker",
		CI:     CI{SourceURL: "https://example.com/acme/api/commit/abc", PipelineURL: "https://example.com/acme/api/pipelines/1"},
	}
}

// parseTemplate parses text in the sandbox and instruments its ranges.
// b receives the costs of one rendering.
func parseTemplate(name, text string, b *budget) (*template.Template, error) {
	if len(text) > maxTemplateSource {
		return nil, fmt.Errorf("%s template: longer than %d bytes", name, maxTemplateSource)
	}
	t, err := template.New(name).Funcs(b.funcs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse %s template: %w", name, err)
	}
	for _, nt := range t.Templates() {
		if nt.Name() != name {
			return nil, fmt.Errorf("%s template: {{define}} and {{block}} are not allowed (found %q)", name, nt.Name())
		}
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return t, nil
	}
	step := func(cost int) (parse.Node, error) {
		st, err := template.New("step").Funcs(b.funcs()).Parse(fmt.Sprintf("{{%s %d}}", stepFunc, cost))
		if err != nil {
			return nil, err
		}
		return st.Tree.Root.Nodes[0], nil
	}
	if err := instrument(name, t.Tree.Root, step); err != nil {
		return nil, err
	}
	return t, nil
}

// instrument refuses {{template}} and puts a step at the top of every range
// body that charges the body's size, so each iteration costs what it may
// evaluate, whatever it ranges over.
func instrument(name string, n parse.Node, step func(cost int) (parse.Node, error)) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := instrument(name, c, step); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return fmt.Errorf("%s template: {{template %q}} is not allowed", name, n.Name)
	case *parse.IfNode:
		return instrumentBranch(name, &n.BranchNode, step)
	case *parse.WithNode:
		return instrumentBranch(name, &n.BranchNode, step)
	case *parse.RangeNode:
		if err := instrumentBranch(name, &n.BranchNode, step); err != nil {
			return err
		}
		st, err := step(rangeStepCost + countNodes(n.List))
		if err != nil {
			return err
		}
		n.List.Nodes = slices.Insert(n.List.Nodes, 0, st)
	}
	return nil
}

// countNodes is the size of a parse tree: a bound on what one pass over it
// evaluates, nested ranges aside (they charge their own iterations).
func countNodes(n parse.Node) int {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		c := 0
		for _, x := range n.Nodes {
			c += countNodes(x)
		}
		return c
	case *parse.ActionNode:
		return 1 + countNodes(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return 0
		}
		c := len(n.Decl)
		for _, cmd := range n.Cmds {
			c += countNodes(cmd)
		}
		return c
	case *parse.CommandNode:
		c := 1
		for _, a := range n.Args {
			c += countNodes(a)
		}
		return c
	case *parse.IfNode:
		return 1 + countBranch(&n.BranchNode)
	case *parse.WithNode:
		return 1 + countBranch(&n.BranchNode)
	case *parse.RangeNode:
		return 1 + countBranch(&n.BranchNode)
	}
	return 1
}

func countBranch(b *parse.BranchNode) int {
	return countNodes(b.Pipe) + countNodes(b.List) + countNodes(b.ElseList)
}

func instrumentBranch(name string, b *parse.BranchNode, step func(cost int) (parse.Node, error)) error {
	if err := instrument(name, b.List, step); err != nil {
		return err
	}
	if b.ElseList != nil {
		return instrument(name, b.ElseList, step)
	}
	return nil
}

// budget is what one rendering may still spend.
type budget struct {
	steps int
	bytes int
}

func newBudget() *budget { return &budget{steps: maxRangeSteps, bytes: maxFuncBytes} }

// funcs are the functions a template may call: markdownCell and the
// builtins that build strings, each charged to the budget before it
// allocates. The other builtins (len, index, slice, eq, and, …) build
// nothing.
func (b *budget) funcs() template.FuncMap {
	return template.FuncMap{
		stepFunc: b.step,
		"cell":   b.escaper(markdownCell, 5),
		"html":   b.escaper(template.HTMLEscapeString, 6),
		"js":     b.escaper(template.JSEscapeString, 6),
		"urlquery": func(args ...any) (string, error) {
			return b.build(3*argsLen(args), func() string { return template.URLQueryEscaper(args...) })
		},
		"print": func(args ...any) (string, error) {
			return b.build(argsLen(args)+16*len(args), func() string { return fmt.Sprint(args...) })
		},
		"println": func(args ...any) (string, error) {
			return b.build(argsLen(args)+16*len(args), func() string { return fmt.Sprintln(args...) })
		},
		"printf": b.printf,
	}
}

func (b *budget) step(cost int) (string, error) {
	if b.steps -= cost; b.steps < 0 {
		return "", fmt.Errorf("does more than %d steps in range loops", maxRangeSteps)
	}
	return "", nil
}

// build charges an estimate before calling f and the real size after.
func (b *budget) build(estimate int, f func() string) (string, error) {
	if estimate > b.bytes {
		return "", fmt.Errorf("builds more than %d bytes", maxFuncBytes)
	}
	s := f()
	if b.bytes -= len(s); b.bytes < 0 {
		return "", fmt.Errorf("builds more than %d bytes", maxFuncBytes)
	}
	return s, nil
}

func (b *budget) escaper(f func(string) string, growth int) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		return b.build(growth*argsLen(args), func() string { return f(fmt.Sprint(args...)) })
	}
}

func (b *budget) printf(format string, args ...any) (string, error) {
	if err := checkFormat(format); err != nil {
		return "", err
	}
	verbs := strings.Count(format, "%")
	return b.build(len(format)+argsLen(args)+verbs*maxFormatWidth, func() string { return fmt.Sprintf(format, args...) })
}

// checkFormat refuses printf widths and precisions that would allocate
// more than maxFormatWidth bytes per verb, and * (a width taken from data).
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		n := 0
		for i++; i < len(format); i++ {
			c := format[i]
			switch {
			case c == '*':
				return errors.New("printf: * widths are not allowed")
			case c >= '0' && c <= '9':
				if n = n*10 + int(c-'0'); n > maxFormatWidth {
					return fmt.Errorf("printf: widths and precisions over %d are not allowed", maxFormatWidth)
				}
				continue
			case c == '.' || c == '[' || c == ']' || strings.IndexByte("+-# ", c) >= 0:
				n = 0
				continue
			}
			break
		}
	}
	return nil
}

// argsLen is the size of the string arguments, what an escaper or print
// copies at least.
func argsLen(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case fmt.Stringer:
			n += len(v.String())
		default:
			n += 32
		}
	}
	return n
}

// cappedBuffer fails a write that would pass its cap, which stops the
// template at once.
type cappedBuffer struct {
	strings.Builder
	max int
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.max {
		return 0, errTooLong
	}
	return w.Builder.Write(p)
}

// checkFields finds every field name the template uses, in every branch
// whether the sample takes it or not, and refuses one that no type a
// template sees has.
func checkFields(name, text string) error {
	t, err := parseTemplate(name, text, newBudget())
	if err != nil {
		return err
	}
	known := knownFields()
	var bad string
	walkFields(t.Tree.Root, func(f string) {
		if bad == "" && !slices.Contains(known, f) {
			bad = f
		}
	})
	if bad != "" {
		return fmt.Errorf("%s template: no field .%s; templates can use %s", name, bad, fieldHelp())
	}
	return nil
}

// walkFields calls f with every field identifier in the tree.
func walkFields(n parse.Node, f func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkFields(c, f)
		}
	case *parse.ActionNode:
		walkFields(n.Pipe, f)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkFields(c, f)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkFields(a, f)
		}
	case *parse.FieldNode:
		for _, id := range n.Ident {
			f(id)
		}
	case *parse.ChainNode:
		walkFields(n.Node, f)
		for _, id := range n.Field {
			f(id)
		}
	case *parse.VariableNode:
		for _, id := range n.Ident[1:] {
			f(id)
		}
	case *parse.IfNode:
		walkBranch(&n.BranchNode, f)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, f)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, f)
	}
}

func walkBranch(b *parse.BranchNode, f func(string)) {
	walkFields(b.Pipe, f)
	walkFields(b.List, f)
	if b.ElseList != nil {
		walkFields(b.ElseList, f)
	}
}

// templateTypes are the types a template reaches from its data.
var templateTypes = []reflect.Type{
	reflect.TypeFor[*templateData](),
	reflect.TypeFor[imageData](),
	reflect.TypeFor[manifest.Change](),
	reflect.TypeFor[CI](),
}

// knownFields lists the exported fields and methods of templateTypes.
func knownFields() []string {
	var names []string
	for _, t := range templateTypes {
		for m := range t.Methods() {
			names = append(names, m.Name)
		}
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for f := range t.Fields() {
			if f.IsExported() {
				names = append(names, f.Name)
			}
		}
	}
	return names
}

// fieldHelp says which fields exist, for the error of a misspelt one.
func fieldHelp() string {
	var parts []string
	for i, t := range templateTypes {
		var names []string
		for m := range t.Methods() {
			names = append(names, "."+m.Name)
		}
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for f := range t.Fields() {
			if f.IsExported() {
				names = append(names, "."+f.Name)
			}
		}
		switch i {
		case 0:
			parts = append(parts, strings.Join(names, " "))
		case 1:
			parts = append(parts, "each of .Images: "+strings.Join(names, " "))
		case 2:
			parts = append(parts, "each of .Changes: "+strings.Join(names, " "))
		case 3:
			parts = append(parts, ".CI: "+strings.Join(names, " "))
		}
	}
	return strings.Join(parts, "; ")
}
