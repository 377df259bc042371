package config

// Layer is one source of settings: a config file's defaults or one of its
// environments, or the command line (flags and their BUMP_* variables).
// Nil means the layer leaves the setting to the layers below; a list set
// to empty ([] in the file) is set. Merge is the one place layers meet.
type Layer struct {
	Paths, Labels, Reviewers, Assignees []string

	Base, Branch, Message, Title, Body *string
	MergeMethod, Forge, ForgeURL, Repo *string

	PushToBase, AutoMerge, Draft, AllowDowngrade, SkipInvalid *bool
}

// Merge lays each layer over the ones before it: for every setting the
// last layer that sets it wins.
func Merge(layers ...Layer) Layer {
	var m Layer
	for _, l := range layers {
		for _, p := range [...]struct{ dst, src *[]string }{
			{&m.Paths, &l.Paths}, {&m.Labels, &l.Labels}, {&m.Reviewers, &l.Reviewers}, {&m.Assignees, &l.Assignees},
		} {
			if *p.src != nil {
				*p.dst = *p.src
			}
		}
		for _, p := range [...]struct{ dst, src **string }{
			{&m.Base, &l.Base}, {&m.Branch, &l.Branch}, {&m.Message, &l.Message}, {&m.Title, &l.Title}, {&m.Body, &l.Body},
			{&m.MergeMethod, &l.MergeMethod}, {&m.Forge, &l.Forge}, {&m.ForgeURL, &l.ForgeURL}, {&m.Repo, &l.Repo},
		} {
			if *p.src != nil {
				*p.dst = *p.src
			}
		}
		for _, p := range [...]struct{ dst, src **bool }{
			{&m.PushToBase, &l.PushToBase}, {&m.AutoMerge, &l.AutoMerge}, {&m.Draft, &l.Draft},
			{&m.AllowDowngrade, &l.AllowDowngrade}, {&m.SkipInvalid, &l.SkipInvalid},
		} {
			if *p.src != nil {
				*p.dst = *p.src
			}
		}
	}
	return m
}

// Layer is the file's settings as a layer: an empty string is unset.
func (s Settings) Layer() Layer {
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	flag := func(v *Bool) *bool {
		if v == nil {
			return nil
		}
		b := bool(*v)
		return &b
	}
	return Layer{
		Paths: s.Paths, Labels: s.Labels, Reviewers: s.Reviewers, Assignees: s.Assignees,
		Base: str(s.Base), Branch: str(s.Branch), Message: str(s.Message), Title: str(s.Title), Body: str(s.Body),
		MergeMethod: str(s.MergeMethod), Forge: str(s.Forge), ForgeURL: str(s.ForgeURL), Repo: str(s.Repo),
		PushToBase: flag(s.PushToBase), AutoMerge: flag(s.AutoMerge), Draft: flag(s.Draft),
		AllowDowngrade: flag(s.AllowDowngrade), SkipInvalid: flag(s.SkipInvalid),
	}
}

// settings turns a layer back into the file's form.
func (l Layer) settings() Settings {
	flag := func(v *bool) *Bool {
		if v == nil {
			return nil
		}
		b := Bool(*v)
		return &b
	}
	return Settings{
		Paths: l.Paths, Labels: l.Labels, Reviewers: l.Reviewers, Assignees: l.Assignees,
		Base: Str(l.Base), Branch: Str(l.Branch), Message: Str(l.Message), Title: Str(l.Title), Body: Str(l.Body),
		MergeMethod: Str(l.MergeMethod), Forge: Str(l.Forge), ForgeURL: Str(l.ForgeURL), Repo: Str(l.Repo),
		PushToBase: flag(l.PushToBase), AutoMerge: flag(l.AutoMerge), Draft: flag(l.Draft),
		AllowDowngrade: flag(l.AllowDowngrade), SkipInvalid: flag(l.SkipInvalid),
	}
}

// Str is the value of an optional string, "" when unset.
func Str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// IsTrue reports whether an optional yes/no setting is set and true.
func IsTrue(p *bool) bool { return p != nil && *p }
