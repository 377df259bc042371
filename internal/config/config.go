// Package config reads .bump.yaml: the settings a team would otherwise
// repeat in every pipeline (paths, base branch, labels, reviewers…), as
// defaults and per named environment. It validates strictly and names the
// line of every mistake; it knows nothing of flags, which the cli lets
// override the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileName is the config file bump looks for at the root of a repository.
const FileName = ".bump.yaml"

// Settings are the options a file may set. Nil and empty mean "not set".
type Settings struct {
	Paths          []string `yaml:"paths"`
	Base           string   `yaml:"base"`
	Branch         string   `yaml:"branch"`
	Message        string   `yaml:"message"`
	Title          string   `yaml:"title"`
	Body           string   `yaml:"body"`
	PushToBase     *Bool    `yaml:"push-to-base"`
	AutoMerge      *Bool    `yaml:"auto-merge"`
	Draft          *Bool    `yaml:"draft"`
	AllowDowngrade *Bool    `yaml:"allow-downgrade"`
	SkipInvalid    *Bool    `yaml:"skip-invalid"`
	Labels         []string `yaml:"labels"`
	Reviewers      []string `yaml:"reviewers"`
	Assignees      []string `yaml:"assignees"`
	MergeMethod    string   `yaml:"merge-method"`
	Forge          string   `yaml:"forge"`
	ForgeURL       string   `yaml:"forge-url"`
	Repo           string   `yaml:"repo"`
}

// Bool is a yes/no setting, read by ParseBool like the BUMP_* variables.
type Bool bool

// UnmarshalYAML reads a Bool with ParseBool; yaml's own reading of
// booleans differs between its versions and from the environment's.
func (b *Bool) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		got := strconv.Quote(n.Value)
		if n.Kind != yaml.ScalarNode {
			got = "a list or mapping"
		}
		return &boolError{line: n.Line, got: got}
	}
	*b = Bool(v)
	return nil
}

// boolError is a value that is not a Bool; Parse names its key.
type boolError struct {
	line int
	got  string
}

func (e *boolError) Error() string {
	return fmt.Sprintf("line %d: %s, got %s", e.line, wantBool, e.got)
}

const wantBool = "want true or false (also yes/no, on/off, 1/0)"

// ParseBool is bump's one reader of yes/no values, in the config file and
// in the environment: true/false, yes/no, y/n, on/off and 1/0, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "on", "1":
		return true, nil
	case "false", "no", "n", "off", "0":
		return false, nil
	}
	return false, errors.New(wantBool)
}

// Config is a parsed file: top-level settings are the defaults.
type Config struct {
	Version      int                 `yaml:"version"`
	Defaults     Settings            `yaml:",inline"`
	Environments map[string]Settings `yaml:"environments"`

	name string
	root yaml.Node
}

// Load reads and parses a config file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(file, data)
}

// Parse parses and validates data; errors read "NAME:LINE: …".
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{name: name}
	if err := yaml.Unmarshal(data, &c.root); err != nil {
		return nil, c.yamlError(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty config file", name)
		}
		return nil, c.yamlError(err)
	}
	if c.node("version") == nil {
		return nil, c.errorf(0, `missing "version: 1" (the file format's version) at the top`)
	}
	if c.Version != 1 {
		return nil, c.errorf(c.line("version"), "version must be 1 (got %d)", c.Version)
	}
	if err := c.validate(c.Defaults, nil); err != nil {
		return nil, err
	}
	// Sorted, so a file with several mistakes always reports the same one.
	for _, env := range slices.Sorted(maps.Keys(c.Environments)) {
		if err := c.validate(c.Environments[env], []string{"environments", env}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Resolve overlays an environment's settings on the defaults. An empty
// env means the defaults alone.
func (c *Config) Resolve(env string) (Settings, error) {
	s := c.Defaults
	if env == "" {
		return s, nil
	}
	e, ok := c.Environments[env]
	if !ok {
		names := make([]string, 0, len(c.Environments))
		for n := range c.Environments {
			names = append(names, n)
		}
		slices.Sort(names)
		if len(names) == 0 {
			return s, fmt.Errorf("%s: no environment %q: the file defines no environments", c.name, env)
		}
		return s, fmt.Errorf("%s: no environment %q (known: %s)", c.name, env, strings.Join(names, ", "))
	}
	return Merge(s.Layer(), e.Layer()).settings(), nil
}

// Name is the file's name as it appears in errors.
func (c *Config) Name() string { return c.name }

// Has reports whether the file defines the named environment.
func (c *Config) Has(env string) bool {
	_, ok := c.Environments[env]
	return ok
}

// KeyError is an error about the key that sets a resolved setting: the
// environment's when it sets it, else the defaults'. It reads "NAME:LINE: …".
func (c *Config) KeyError(env, key, format string, args ...any) error {
	line := c.line(key)
	if env != "" && c.node("environments", env, key) != nil {
		line = c.line("environments", env, key)
	}
	return c.errorf(line, format, args...)
}

func (c *Config) validate(s Settings, at []string) error {
	key := func(k string) int { return c.line(append(slices.Clone(at), k)...) }
	for i, p := range s.Paths {
		if p == "" || strings.HasPrefix(p, "/") || !pathLocal(p) {
			return c.errorf(c.itemLine(append(slices.Clone(at), "paths"), i), "path %q must be relative and stay inside the repository", p)
		}
	}
	switch s.MergeMethod {
	case "", "merge", "squash", "rebase":
	default:
		return c.errorf(key("merge-method"), "merge-method %q: want merge, squash or rebase", s.MergeMethod)
	}
	switch s.Forge {
	case "", "github", "gitlab", "gitea", "forgejo":
	default:
		return c.errorf(key("forge"), "forge %q: want github, gitlab, gitea or forgejo", s.Forge)
	}
	if s.PushToBase != nil && bool(*s.PushToBase) && s.Branch != "" {
		return c.errorf(key("branch"), "branch is for pull requests; push-to-base commits onto the base branch")
	}
	return nil
}

func pathLocal(p string) bool {
	clean := path.Clean(p)
	return clean != ".." && !strings.HasPrefix(clean, "../")
}

// itemLine finds the line of the i-th item of the sequence at keys, or
// the key's own line when the items are not found.
func (c *Config) itemLine(keys []string, i int) int {
	if n := c.node(keys...); n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i].Line
	}
	return c.line(keys...)
}

// node finds the value node at a key path, or nil.
func (c *Config) node(keys ...string) *yaml.Node {
	n := &c.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// line finds the line of a key path in the document, or 0.
func (c *Config) line(keys ...string) int {
	n := &c.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

func (c *Config) errorf(line int, format string, args ...any) error {
	if line > 0 {
		return fmt.Errorf("%s:%d: %s", c.name, line, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s: %s", c.name, fmt.Sprintf(format, args...))
}

// yamlError rewrites yaml.v3's "yaml: line N: msg" and multi-line type
// errors into "NAME:N: msg", one line.
func (c *Config) yamlError(err error) error {
	var be *boolError
	if errors.As(err, &be) {
		if key, _ := c.keyOnLine(be.line); key != nil {
			return c.errorf(be.line, "%s: %s, got %s", key.Value, wantBool, be.got)
		}
		return c.errorf(be.line, "%s, got %s", wantBool, be.got)
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		parts := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			parts[i] = lineForm(c.name, c.typeError(e))
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return errors.New(lineForm(c.name, strings.TrimPrefix(err.Error(), "yaml: ")))
}

// typeMismatch is how yaml.v3 words a value of the wrong type; it
// shortens long values, so the message is rebuilt from the key's node.
var typeMismatch = regexp.MustCompile("^line (\\d+): cannot unmarshal !!\\w+ `.*` into (\\S+)$")

// typeError rewords a type mismatch as "line N: KEY: want …, got VALUE".
func (c *Config) typeError(msg string) string {
	m := typeMismatch.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := map[string]string{
		"bool":                       "true or false",
		"string":                     "a string",
		"int":                        "a number",
		"[]string":                   "a list, such as [a, b]",
		"map[string]config.Settings": "a mapping of environment names to settings",
	}[m[2]]
	if want == "" {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	key, val := c.keyOnLine(line)
	if key == nil {
		return fmt.Sprintf("line %d: want %s", line, want)
	}
	got := val.Value
	switch val.Kind {
	case yaml.SequenceNode:
		got = "a list"
	case yaml.MappingNode:
		got = "a mapping"
	default:
		got = strconv.Quote(got)
	}
	return fmt.Sprintf("line %d: %s: want %s, got %s", line, key.Value, want, got)
}

// keyOnLine finds the innermost mapping entry whose key or value starts
// on line, so that a type error can name its key.
func (c *Config) keyOnLine(line int) (key, val *yaml.Node) {
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k, v := n.Content[i], n.Content[i+1]; k.Line == line || v.Line == line {
					key, val = k, v
				}
			}
		}
		for _, ch := range n.Content {
			walk(ch)
		}
	}
	walk(&c.root)
	return key, val
}

// unknownField is how yaml.v3 words a key the file may not have.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

func lineForm(name, msg string) string {
	msg = unknownField.ReplaceAllString(msg, `unknown key "$1"`)
	// Quoted values may hold line breaks; an error stays on one line.
	msg = strings.Join(strings.Fields(msg), " ")
	var n int
	var rest string
	if k, _ := fmt.Sscanf(msg, "line %d:", &n); k == 1 {
		_, rest, _ = strings.Cut(msg, ":")
		return fmt.Sprintf("%s:%d:%s", name, n, rest)
	}
	return name + ": " + msg
}

// EnvError is an error about an environment as a whole, at its line:
// "NAME:LINE: …".
func (c *Config) EnvError(env, format string, args ...any) error {
	return c.errorf(c.line("environments", env), format, args...)
}
