package cli

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

// categories is the order of the groups in --help, as in the README:
// what to bump first, credentials last.
var categories = []string{catImages, catGit, catPR, catOutput, catAuth}

// helpFooter ends --help with what a script and a team need to know.
const helpFooter = `Exit status: 0 done (changed, or already up to date), 1 the run failed,
2 the command line or the configuration is wrong.

Config file: .bump.yaml at the root of the manifests repository, and the
pipeline's own file (--config FILE, or .bump.yaml where bump runs), set
defaults and named environments (--env). Layers, the later winning: the
manifests repository's file < the pipeline's file < BUMP_* variables < flags.
Yes/no values, in the file and the variables, take true/false, yes/no,
on/off or 1/0.`

// helpTemplate renders the app's help with the flags grouped in the
// README's order and, within a group, in the order they are declared
// (urfave/cli sorts both alphabetically).
func helpTemplate(flags []cli.Flag) string {
	var b strings.Builder
	for _, cat := range categories {
		fmt.Fprintf(&b, "\n   %s\n\n", cat)
		tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		for _, f := range flags {
			if cf, ok := f.(cli.CategorizableFlag); !ok || cf.GetCategory() != cat {
				continue
			}
			name, usage, _ := strings.Cut(f.String(), "\t")
			usage = strings.Replace(usage, " (default: false)", "", 1)
			fmt.Fprintf(tw, "   %s\t%s\n", name, usage)
		}
		tw.Flush()
	}
	b.WriteString("\n" + helpFooter + "\n")
	// The flag text is literal: nothing in it may read as a template action.
	return "NAME:\n   {{.Name}} - {{.Usage}}\n\nUSAGE:\n   {{wrap .UsageText 3}}\n\nOPTIONS:\n" +
		strings.ReplaceAll(b.String(), "{{", `{{"{{"}}`)
}

// suggestFlag names the declared flag nearest to an unknown one, or "".
func suggestFlag(flags []cli.Flag, unknown string) string {
	best, bestDist := "", 0
	for _, f := range flags {
		for _, name := range f.Names() {
			if len(name) < 2 {
				continue
			}
			d := editDistance(unknown, name)
			if d <= 2 && d*2 < len(name) && (best == "" || d < bestDist) {
				best, bestDist = name, d
			}
		}
	}
	return best
}

// editDistance counts insertions, deletions, substitutions and swaps of
// neighbours (the usual typos) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// canonicalArgs spells every flag by its long name (-i → --image), so that
// mixing a flag's forms (-i a --image b) repeats one flag, which urfave/cli
// would otherwise refuse. Values are left alone: after a flag that takes a
// value, the next argument is that value whatever it looks like.
func canonicalArgs(flags []cli.Flag, args []string) []string {
	byName := map[string]cli.Flag{}
	for _, f := range flags {
		for _, n := range f.Names() {
			byName[n] = f
		}
	}
	out := slices.Clone(args)
	for i := 1; i < len(out); i++ {
		arg := out[i]
		if arg == "--" || !strings.HasPrefix(arg, "-") || arg == "-" {
			if arg == "--" {
				break
			}
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		f, ok := byName[name]
		if !ok {
			continue
		}
		long := "--" + f.Names()[0]
		if hasValue {
			out[i] = long + "=" + value
		} else {
			out[i] = long
		}
		if df, ok := f.(cli.DocGenerationFlag); ok && df.TakesValue() && !hasValue {
			i++ // the value
		}
	}
	return out
}
