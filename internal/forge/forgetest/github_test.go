package forgetest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestGitHubFakeGraphQL(t *testing.T) {
	rec := &recordingTB{TB: t}
	g := NewGitHub(rec, GitHubOptions{})
	n := g.AddPullRequest("b", "main", "t", "")
	pr, _ := g.PullRequest(n)

	// A field the schema excerpts do not have is a test failure, not a silent success.
	resp, out := post(t, g.GraphQLURL(), "test-token", `{"query":"mutation { enablePullRequestAutoMerge(input:{pullRequestId:\"x\"}) { noSuchField } }"}`)
	if resp.StatusCode != 200 || out["errors"] == nil {
		t.Errorf("invalid query answered %d %v", resp.StatusCode, out)
	}
	if errs := rec.errs(); len(errs) != 1 || !strings.Contains(errs[0], "noSuchField") {
		t.Errorf("invalid query recorded %q", errs)
	}
	rec.errors = nil

	// Unauthenticated.
	q := `{"query":"mutation M($id: ID!) { e: enablePullRequestAutoMerge(input:{pullRequestId:$id, mergeMethod: REBASE}) { pullRequest { number autoMergeRequest { mergeMethod } } } }","variables":{"id":"` + pr.NodeID + `"}}`
	if resp, _ := post(t, g.GraphQLURL(), "", q); resp.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	// Aliases and nested selections are projected as asked.
	resp, out = post(t, g.GraphQLURL(), "test-token", q)
	got, _ := json.Marshal(out)
	if resp.StatusCode != 200 || string(got) != `{"data":{"e":{"pullRequest":{"autoMergeRequest":{"mergeMethod":"REBASE"},"number":1}}}}` {
		t.Errorf("answer %d %s", resp.StatusCode, got)
	}
	if pr, _ := g.PullRequest(n); pr.AutoMerge != "REBASE" {
		t.Errorf("auto-merge = %q", pr.AutoMerge)
	}
	if g.Calls()["graphql/enablePullRequestAutoMerge"] != 2 {
		t.Errorf("calls = %v", g.Calls())
	}
	if errs := rec.errs(); len(errs) != 0 {
		t.Errorf("valid query recorded %q", errs)
	}
}

func TestGitHubFakeCommitStaleHead(t *testing.T) {
	repo := NewBareRepo(t, "main", map[string][]byte{"a": []byte("1")})
	base, _ := repo.Head("main")
	g := NewGitHub(t, GitHubOptions{Git: repo})
	input := func(expected string) string {
		return `{"query":"mutation C($i: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $i) { commit { oid } } }","variables":{"i":{` +
			`"branch":{"repositoryNameWithOwner":"acme/manifests","branchName":"main"},"expectedHeadOid":"` + expected + `",` +
			`"message":{"headline":"h"},"fileChanges":{"additions":[{"path":"a","contents":"` + base64.StdEncoding.EncodeToString([]byte("2")) + `"}]}}}}`
	}
	_, out := post(t, g.GraphQLURL(), "test-token", input(strings.Repeat("9", 40)))
	if b, _ := json.Marshal(out); !bytes.Contains(b, []byte("STALE_DATA")) {
		t.Errorf("stale head answered %s", b)
	}
	if head, _ := repo.Head("main"); head != base {
		t.Error("stale commit moved the branch")
	}
	_, out = post(t, g.GraphQLURL(), "test-token", input(base))
	data, _ := out["data"].(map[string]any)
	c, _ := data["createCommitOnBranch"].(map[string]any)
	commit, _ := c["commit"].(map[string]any)
	if head, _ := repo.Head("main"); commit["oid"] != head || head == base {
		t.Errorf("commit answered %v, branch at %s", out, head)
	}
}

func TestVerifyAppJWT(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Unix(1_700_000_000, 0)
	sign := func(k *rsa.PrivateKey, alg, claims string) string {
		enc := base64.RawURLEncoding
		s := enc.EncodeToString([]byte(`{"alg":"`+alg+`","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
		sum := sha256.Sum256([]byte(s))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
		return s + "." + enc.EncodeToString(sig)
	}
	good := `{"iss":"77","iat":1699999940,"exp":1700000500}`
	for _, tc := range []struct {
		name string
		tok  string
		ok   bool
	}{
		{"valid string iss", sign(key, "RS256", good), true},
		{"valid numeric iss", sign(key, "RS256", `{"iss":77,"iat":1699999940,"exp":1700000500}`), true},
		{"other key", sign(other, "RS256", good), false},
		{"wrong app", sign(key, "RS256", `{"iss":"78","iat":1699999940,"exp":1700000500}`), false},
		{"expired", sign(key, "RS256", `{"iss":"77","iat":1699999000,"exp":1699999500}`), false},
		{"too long", sign(key, "RS256", `{"iss":"77","iat":1699999940,"exp":1700009999}`), false},
		{"wrong alg", sign(key, "HS256", good), false},
		{"garbage", "a.b", false},
	} {
		if err := verifyAppJWT(tc.tok, &key.PublicKey, 77, now); (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestGitHubRefPath(t *testing.T) {
	for in, want := range map[string]string{
		"/repos/a/b/git/ref/heads/bump/api": "/repos/a/b/git/ref/heads%2Fbump%2Fapi",
		"/repos/a/b/git/refs/heads/x":       "/repos/a/b/git/refs/heads%2Fx",
		"/repos/a/b/git/refs":               "/repos/a/b/git/refs",
		"/repos/a/b/pulls/1":                "/repos/a/b/pulls/1",
	} {
		if got := GitHubRefPath(in); got != want {
			t.Errorf("GitHubRefPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// git/update-ref moves a branch as GitHub does: without force only a fast
// forward, with force anywhere, and never to an object that does not exist.
func TestGitHubFakeUpdateRef(t *testing.T) {
	repo := NewBareRepo(t, "main", map[string][]byte{"a": []byte("1")})
	base, _ := repo.Head("main")
	g := NewGitHub(t, GitHubOptions{Git: repo})
	side, err := repo.CommitFiles("main", base, map[string][]byte{"a": []byte("2")}, "side", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetBranch("main", base, side); err != nil {
		t.Fatal(err)
	}
	if err := repo.SetBranch("b", side, ""); err != nil {
		t.Fatal(err)
	}
	patch := func(sha string, force bool) int {
		body, _ := json.Marshal(map[string]any{"sha": sha, "force": force})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, g.URL()+"/repos/acme/manifests/git/refs/heads/b", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := patch(base, false); code != 422 {
		t.Errorf("non-fast-forward without force: %d, want 422", code)
	}
	if head, _ := repo.Head("b"); head != side {
		t.Fatal("refused update moved the branch")
	}
	if code := patch(strings.Repeat("1", 40), true); code != 422 {
		t.Errorf("unknown object: %d, want 422", code)
	}
	if code := patch(base, true); code != 200 {
		t.Errorf("forced update: %d, want 200", code)
	}
	if head, _ := repo.Head("b"); head != base {
		t.Error("forced update did not move the branch")
	}
	if code := patch(side, false); code != 200 {
		t.Errorf("fast forward: %d, want 200", code)
	}
}
