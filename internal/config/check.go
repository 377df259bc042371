package config

import (
	"maps"
	"slices"
)

// CheckString calls check on the value of key in the defaults and in every
// environment, and names the file and line of the first value it refuses
// ("NAME:LINE: key: error"). The caller owns the rule (bump's templates are
// checked by the package that renders them).
func (c *Config) CheckString(key string, check func(string) error) error {
	places := [][]string{nil}
	for _, env := range slices.Sorted(maps.Keys(c.Environments)) {
		places = append(places, []string{"environments", env})
	}
	for _, at := range places {
		keys := append(slices.Clone(at), key)
		n := c.node(keys...)
		if n == nil || n.Value == "" {
			continue
		}
		if err := check(n.Value); err != nil {
			return c.errorf(c.line(keys...), "%s: %v", key, err)
		}
	}
	return nil
}
