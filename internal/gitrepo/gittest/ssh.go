package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves the same bare repositories as a Server over SSH, as a
// forge's git@host endpoint does: public key authentication against one
// authorized key, then `git-upload-pack` or `git-receive-pack` on the
// repository named in the command, run by the system git.
type SSHServer struct {
	// Addr is the loopback host:port to dial.
	Addr string
	// KnownHosts is a known_hosts line for this server's host key.
	KnownHosts string
	root       string
	logins     sync.Map // user name → count of accepted logins
}

// ServeSSH starts an SSH endpoint for the server's repositories that
// accepts only authorized, and closes it when the test ends.
func (s *Server) ServeSSH(t testing.TB, authorized ssh.PublicKey) *SSHServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	srv := &SSHServer{root: s.root}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) != string(authorized.Marshal()) {
				return nil, errors.New("unknown key")
			}
			n, _ := srv.logins.LoadOrStore(meta.User(), new(int))
			*n.(*int)++
			return nil, nil
		},
	}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Addr = ln.Addr().String()
	srv.KnownHosts = knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, signer.PublicKey())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.serve(conn, cfg)
			}()
		}
	}()
	return srv
}

// RepoURL is the ssh:// clone URL of a repository, for user.
func (s *SSHServer) RepoURL(user, name string) string {
	return "ssh://" + user + "@" + s.Addr + "/" + name + ".git"
}

// Logins counts the accepted logins of user.
func (s *SSHServer) Logins(user string) int {
	if n, ok := s.logins.Load(user); ok {
		return *n.(*int)
	}
	return 0
}

func (s *SSHServer) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go s.session(ch, chReqs)
	}
}

// session runs one git command. Only the two git services are allowed, on
// a repository inside the root, as a forge's git shell would.
func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type == "env" {
			_ = req.Reply(true, nil)
			continue
		}
		if req.Type != "exec" || len(req.Payload) < 4 {
			_ = req.Reply(false, nil)
			continue
		}
		command := string(req.Payload[4:])
		service, repo, ok := strings.Cut(command, " ")
		repo = strings.Trim(repo, "'\"")
		clean := path.Clean("/" + repo)
		if !ok || (service != "git-upload-pack" && service != "git-receive-pack") || clean != repo {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command("git", strings.TrimPrefix(service, "git-"), filepath.Join(s.root, filepath.FromSlash(clean)))
		cmd.Env = Env(s.root)
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		// A pipe, not cmd.Stdin = ch: Wait would otherwise wait for the
		// client to close its side, which it does only after the exit status.
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		go func() { _, _ = io.Copy(stdin, ch) }()
		code := 0
		if err := cmd.Run(); err != nil {
			code = 1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
		}
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, uint32(code))
		_, _ = ch.SendRequest("exit-status", false, status)
		return
	}
}

// NewSSHKey makes an ed25519 key pair: the private key in OpenSSH PEM
// form, as --ssh-key takes it, and the public key to authorize.
func NewSSHKey(t testing.TB) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sp
}
