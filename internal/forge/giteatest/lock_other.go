//go:build !unix

package giteatest

func lockFile(string) (func(), error) { return nil, errNoLock }
