package gitrepo

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Auth holds the credentials for one remote.
type Auth struct {
	Username, Password string // HTTPS basic auth; the password is usually a token
	SSHKey             []byte // PEM private key, for ssh URLs
	SSHKeyPassphrase   string
	KnownHosts         []byte // known_hosts content; required with SSHKey
}

func (a Auth) secrets() []string {
	var s []string
	for _, v := range []string{a.Password, string(a.SSHKey), a.SSHKeyPassphrase} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// method builds the go-git auth for url. SSH always checks host keys:
// there is no option to skip that.
func (a Auth) method(url string) (transport.AuthMethod, error) {
	// Every Clone and Open comes here first: the place to bound the
	// transport before any connection.
	boundHTTP()
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("repository URL %s: %w", redact(url), err)
	}
	switch ep.Protocol {
	case "http", "https":
		if a.Password == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "x-access-token"
		}
		return &githttp.BasicAuth{Username: user, Password: a.Password}, nil
	case "ssh":
		if len(a.SSHKey) == 0 {
			return nil, errors.New("ssh URL needs a private key (--ssh-key or SSH_PRIVATE_KEY)")
		}
		if len(a.KnownHosts) == 0 {
			return nil, errors.New("ssh needs known hosts (--ssh-known-hosts or SSH_KNOWN_HOSTS): host keys are always checked")
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeys(user, a.SSHKey, a.SSHKeyPassphrase)
		if err != nil {
			return nil, errors.New("ssh private key: cannot parse it (is it PEM, and is the passphrase right?)")
		}
		cb, err := hostKeyCallback(a.KnownHosts)
		if err != nil {
			return nil, err
		}
		keys.HostKeyCallback = cb
		return keys, nil
	}
	return nil, nil
}

// hostKeyCallback checks host keys against known_hosts content.
func hostKeyCallback(knownHosts []byte) (ssh.HostKeyCallback, error) {
	// x/crypto's parser reads files only; the content is public, and the
	// file lives just long enough to be parsed.
	f, err := os.CreateTemp("", "bump-known-hosts-*")
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(knownHosts)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("known hosts: %w", werr)
	}
	check, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("parse known hosts: %w", err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) > 0:
			// The one case that may be an attack: say so, and how to check.
			return fmt.Errorf("ssh host key of %s does not match the known hosts (%s); if the host's key really changed, update --ssh-known-hosts", hostname, ssh.FingerprintSHA256(key))
		case errors.As(err, &ke):
			return fmt.Errorf("ssh host %s is not in the known hosts; add its key to --ssh-known-hosts (ssh-keyscan)", hostname)
		default:
			return fmt.Errorf("ssh host key of %s: %w", hostname, err)
		}
	}, nil
}
