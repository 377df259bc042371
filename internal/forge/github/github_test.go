package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bump-gitops/bump/internal/forge"
	"github.com/bump-gitops/bump/internal/forge/forgetest"
	"github.com/bump-gitops/bump/internal/forge/github"
)

const canary = "ghp_CANARY0123456789abcdefCANARY"

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func setup(t *testing.T, fo forgetest.GitHubOptions, repo string) (*forgetest.GitHub, *github.Client, *sleeps) {
	t.Helper()
	if fo.Token == "" {
		fo.Token = canary
	}
	fake := forgetest.NewGitHub(t, fo)
	sl := &sleeps{}
	c, err := github.New(github.Options{
		BaseURL: fake.URL(),
		Token:   canary,
		Repo:    forge.Repo{Host: "github.com", Path: repo},
		Retry:   forge.RetryOptions{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxWait: 5 * time.Second, MaxTotal: 10 * time.Second, Sleep: sl.sleep},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c, sl
}

func TestCreateFindUpdateClose(t *testing.T) {
	fake, c, _ := setup(t, forgetest.GitHubOptions{}, "acme/manifests")
	ctx := t.Context()

	pr, err := c.FindPullRequest(ctx, "bump/api", "main")
	if err != nil || pr != nil {
		t.Fatalf("FindPullRequest before create = %v, %v; want nil, nil", pr, err)
	}
	spec := forge.PullRequestSpec{
		Base: "main", Head: "bump/api", Title: "Bump api to v2", Body: "body v2",
		Labels: []string{"bump", "automated"}, Reviewers: []string{"alice", "acme/platform"},
		Assignees: []string{"bob"}, Draft: true, AutoMerge: true, MergeMethod: "squash",
	}
	created, err := c.CreatePullRequest(ctx, spec)
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	if created.Number != 1 || created.NodeID == "" || !strings.HasSuffix(created.URL, "/acme/manifests/pull/1") ||
		created.Head != "bump/api" || created.Base != "main" || !created.Draft || !slices.Equal(created.Labels, spec.Labels) {
		t.Errorf("created = %+v", created)
	}
	got, _ := fake.PullRequest(1)
	want := forgetest.GitHubPR{
		Number: 1, NodeID: created.NodeID, Head: "bump/api", Base: "main", Title: spec.Title, Body: spec.Body,
		State: "open", Draft: true, Labels: []string{"bump", "automated"}, Reviewers: []string{"alice"},
		TeamReviewers: []string{"platform"}, Assignees: []string{"bob"}, AutoMerge: "SQUASH",
	}
	if !equalPR(got, want) {
		t.Errorf("fake holds %+v\nwant       %+v", got, want)
	}
	// find + create + one call for each of labels, reviewers, assignees, auto-merge.
	calls := fake.Calls()
	for op, n := range map[string]int{"pulls/list": 1, "pulls/create": 1, "issues/add-labels": 1, "pulls/request-reviewers": 1,
		"issues/add-assignees": 1, "graphql/enablePullRequestAutoMerge": 1} {
		if calls[op] != n {
			t.Errorf("calls[%s] = %d, want %d (all: %v)", op, calls[op], n, calls)
		}
	}
	if fake.TotalCalls() != 6 {
		t.Errorf("create with every extra took %d calls, want 6: %v", fake.TotalCalls(), calls)
	}

	fake.ResetCalls()
	found, err := c.FindPullRequest(ctx, "bump/api", "main")
	if err != nil || found == nil || found.Number != 1 || found.NodeID != created.NodeID {
		t.Fatalf("FindPullRequest = %+v, %v", found, err)
	}
	updated, err := c.UpdatePullRequest(ctx, found, forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "Bump api to v3", Body: "body v3"})
	if err != nil {
		t.Fatalf("UpdatePullRequest: %v", err)
	}
	if updated.Title != "Bump api to v3" || updated.Body != "body v3" {
		t.Errorf("updated = %+v", updated)
	}
	if n := fake.TotalCalls(); n > 3 {
		t.Errorf("update path took %d calls, budget 3: %v", n, fake.Calls())
	}
	if n := fake.TotalCalls(); n != 2 {
		t.Errorf("update path without extras took %d calls, want find + update: %v", n, fake.Calls())
	}

	other := fake.AddPullRequest("bump/web", "main", "Bump web", "")
	fake.AddPullRequest("bump/old", "release", "Bump old", "")
	list, err := c.ListPullRequests(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Number != 1 || list[1].Number != other {
		t.Errorf("ListPullRequests(main) = %+v, want #1 and #%d", list, other)
	}

	if err := c.ClosePullRequest(ctx, found, "superseded by #3"); err != nil {
		t.Fatalf("ClosePullRequest: %v", err)
	}
	got, _ = fake.PullRequest(1)
	if got.State != "closed" || !slices.Equal(got.Comments, []string{"superseded by #3"}) {
		t.Errorf("after close: state %s comments %q", got.State, got.Comments)
	}
	if pr, err := c.FindPullRequest(ctx, "bump/api", "main"); err != nil || pr != nil {
		t.Errorf("closed pull request still found: %+v, %v", pr, err)
	}
}

func equalPR(a, b forgetest.GitHubPR) bool {
	return a.Number == b.Number && a.NodeID == b.NodeID && a.Head == b.Head && a.Base == b.Base && a.Title == b.Title &&
		a.Body == b.Body && a.State == b.State && a.Draft == b.Draft && slices.Equal(a.Labels, b.Labels) &&
		slices.Equal(a.Reviewers, b.Reviewers) && slices.Equal(a.TeamReviewers, b.TeamReviewers) &&
		slices.Equal(a.Assignees, b.Assignees) && a.AutoMerge == b.AutoMerge && slices.Equal(a.Comments, b.Comments)
}

func TestCreateCommonPathBudget(t *testing.T) {
	fake, c, _ := setup(t, forgetest.GitHubOptions{}, "acme/manifests")
	ctx := t.Context()
	if _, err := c.FindPullRequest(ctx, "bump/api", "main"); err != nil {
		t.Fatal(err)
	}
	spec := forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t", Labels: []string{"bump"}, AutoMerge: true}
	pr, err := c.CreatePullRequest(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.TotalCalls(); n > 4 {
		t.Errorf("find + create + labels + auto-merge took %d calls, budget 4: %v", n, fake.Calls())
	}
	if got, _ := fake.PullRequest(pr.Number); got.AutoMerge != "MERGE" || got.Draft {
		t.Errorf("default auto-merge: fake has method %q draft %v, want MERGE (GitHub's default) and not draft", got.AutoMerge, got.Draft)
	}
}

func TestErrors(t *testing.T) {
	// One fake for every case: loading the description (about 0.8s under
	// -race) dominates test time.
	fake := forgetest.NewGitHub(t, forgetest.GitHubOptions{Token: canary, BranchExists: func(b string) bool { return b != "missing" }})
	far := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	tests := []struct {
		name      string
		token     string
		repo      string
		head      string
		fault     *forgetest.Fault
		seed      bool // an open PR for head exists
		want      error
		wantText  string
		wantCalls int // pulls/create calls; 0 = don't check
	}{
		{name: "bad token", token: "ghp_WRONGTOKEN", want: forge.ErrUnauthorized, wantText: "bad or expired token"},
		{name: "unknown repository", repo: "acme/nope", want: forge.ErrNotFound, wantText: "repository acme/nope not found or token cannot see it"},
		{name: "missing permission", fault: &forgetest.Fault{Operation: "pulls/create", Status: 403,
			Body: `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}`},
			want: forge.ErrForbidden, wantText: "Resource not accessible by integration", wantCalls: 1},
		{name: "head branch missing", head: "missing", want: forge.ErrValidation, wantText: "PullRequest head is invalid"},
		{name: "already exists", head: "bump/dup", seed: true, want: forge.ErrExists, wantText: "A pull request already exists for acme:bump/dup."},
		{name: "primary rate limit too far away", fault: &forgetest.Fault{Operation: "pulls/create", Status: 403,
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {far}, "X-Ratelimit-Limit": {"5000"}},
			Body:   `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`},
			want: forge.ErrRateLimited, wantText: "rate limited", wantCalls: 1},
		{name: "429 too far away", fault: &forgetest.Fault{Operation: "pulls/create", Status: 429, Header: http.Header{"Retry-After": {"3600"}}},
			want: forge.ErrRateLimited, wantText: "rate limited", wantCalls: 1},
		{name: "5xx retried then bounded failure", fault: &forgetest.Fault{Operation: "pulls/create", Status: 502, Times: 10},
			want: forge.ErrUnavailable, wantText: "github answered 502", wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, token, head := tt.repo, tt.token, tt.head
			if repo == "" {
				repo = "acme/manifests"
			}
			if token == "" {
				token = canary
			}
			if head == "" {
				head = "bump/api"
			}
			sl := &sleeps{}
			c, err := github.New(github.Options{
				BaseURL: fake.URL(), Token: token, Repo: forge.Repo{Host: "github.com", Path: repo},
				Retry: forge.RetryOptions{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxWait: 5 * time.Second, Sleep: sl.sleep},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.seed {
				fake.AddPullRequest(head, "main", "old", "")
			}
			if tt.fault != nil {
				fake.InjectFault(*tt.fault)
			}
			fake.ResetCalls()
			_, err = c.CreatePullRequest(t.Context(), forge.PullRequestSpec{Base: "main", Head: head, Title: "t"})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("err = %q, want it to contain %q", msg, tt.wantText)
			}
			if !strings.HasPrefix(msg, "create pull request "+head+" into main: ") {
				t.Errorf("err = %q lacks what was being done", msg)
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, canary) || strings.Contains(msg, token) {
				t.Errorf("err is not one clean line without the token: %q", msg)
			}
			if tt.wantCalls > 0 && fake.Calls()["pulls/create"] != tt.wantCalls {
				t.Errorf("pulls/create calls = %d, want %d", fake.Calls()["pulls/create"], tt.wantCalls)
			}
			var rl *forge.RateLimitError
			if errors.As(err, &rl) && (rl.RetryAfter < 50*time.Minute || rl.RetryAfter > time.Hour) {
				t.Errorf("RetryAfter = %v, want about an hour", rl.RetryAfter)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name  string
		fault forgetest.Fault
		min   time.Duration // shortest acceptable first wait
	}{
		{"429 with Retry-After", forgetest.Fault{Operation: "pulls/list", Status: 429, Header: http.Header{"Retry-After": {"2"}}}, 2 * time.Second},
		{"403 with quota reset", forgetest.Fault{Operation: "pulls/list", Status: 403,
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}}}, 2 * time.Second},
		{"503 twice", forgetest.Fault{Operation: "pulls/list", Status: 503, Times: 2}, 10 * time.Millisecond},
		{"dropped connection", forgetest.Fault{Operation: "pulls/list", Drop: true}, 10 * time.Millisecond},
	}
	fake, c, sl := setup(t, forgetest.GitHubOptions{}, "acme/manifests")
	n := fake.AddPullRequest("bump/api", "main", "t", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sl.mu.Lock()
			sl.d = nil
			sl.mu.Unlock()
			fake.ResetCalls()
			if tt.fault.Header.Get("X-Ratelimit-Remaining") == "0" {
				// Set here: the reset is absolute, and earlier subtests take time.
				tt.fault.Header.Set("X-Ratelimit-Reset", strconv.FormatInt(time.Now().Add(4*time.Second).Unix(), 10))
			}
			fake.InjectFault(tt.fault)
			pr, err := c.FindPullRequest(t.Context(), "bump/api", "main")
			if err != nil || pr == nil || pr.Number != n {
				t.Fatalf("FindPullRequest = %+v, %v", pr, err)
			}
			waits := sl.all()
			if len(waits) == 0 || waits[0] < tt.min || waits[0] > 5*time.Second {
				t.Errorf("waits = %v, want a first wait of at least %v", waits, tt.min)
			}
			if got := fake.Calls()["pulls/list"]; got < 2 {
				t.Errorf("pulls/list calls = %d, want the retry to reach the fake", got)
			}
		})
	}
}

func TestCreateRetriedAfterApplied5xx(t *testing.T) {
	// GitHub applied the create but answered 502; the retry transport
	// resends it and meets "already exists", which the adapter reports as
	// forge.ErrExists so that bump finds the pull request and updates it.
	fake, c, _ := setup(t, forgetest.GitHubOptions{}, "acme/manifests")
	fake.InjectFault(forgetest.Fault{Operation: "pulls/create", Status: 502, After: true})
	_, err := c.CreatePullRequest(t.Context(), forge.PullRequestSpec{Base: "main", Head: "bump/api", Title: "t"})
	if !errors.Is(err, forge.ErrExists) {
		t.Fatalf("create after an applied 502: %v, want ErrExists", err)
	}
	if prs := fake.PullRequests(); len(prs) != 1 || fake.Calls()["pulls/create"] != 2 {
		t.Errorf("fake holds %d pull requests after %d creates, want 1 after 2", len(prs), fake.Calls()["pulls/create"])
	}
	pr, err := c.FindPullRequest(t.Context(), "bump/api", "main")
	if err != nil || pr == nil || pr.Number != 1 {
		t.Errorf("find after ErrExists = %+v, %v", pr, err)
	}
}

func TestCommitOnBranch(t *testing.T) {
	repo := forgetest.NewBareRepo(t, "main", map[string][]byte{"app/deploy.yaml": []byte("image: api:v1\n"), "old.txt": []byte("x")})
	base, ok := repo.Head("main")
	if !ok {
		t.Fatal("no main")
	}
	fake, c, _ := setup(t, forgetest.GitHubOptions{Git: repo}, "acme/manifests")
	req := github.CommitRequest{
		Branch: "bump/api", BaseSHA: base, Headline: "Bump api to v2", Body: "from v1",
		Files: map[string][]byte{"app/deploy.yaml": []byte("image: api:v2\n"), "old.txt": nil},
	}
	sha, err := c.CommitOnBranch(t.Context(), req)
	if err != nil {
		t.Fatalf("CommitOnBranch: %v", err)
	}
	if head, _ := repo.Head("bump/api"); head != sha {
		t.Errorf("branch at %s, want new commit %s", head, sha)
	}
	if b, err := repo.File(sha, "app/deploy.yaml"); err != nil || string(b) != "image: api:v2\n" {
		t.Errorf("deploy.yaml = %q, %v", b, err)
	}
	if _, err := repo.File(sha, "old.txt"); err == nil {
		t.Error("old.txt was not deleted")
	}
	if msg, _ := repo.Message(sha); msg != "Bump api to v2\n\nfrom v1" {
		t.Errorf("message = %q", msg)
	}
	if parent, _ := repo.File(sha+"^", "old.txt"); string(parent) != "x" {
		t.Error("commit's parent is not the base")
	}
	calls := fake.Calls()
	if calls["git/create-ref"] != 1 || calls["graphql/createCommitOnBranch"] != 1 || calls["git/update-ref"] != 0 {
		t.Errorf("first commit calls = %v", calls)
	}

	// Second run: the branch exists at the old commit; it is reset to base
	// and the new commit replaces the old one.
	fake.ResetCalls()
	req.Files = map[string][]byte{"app/deploy.yaml": []byte("image: api:v3\n")}
	req.ExpectedHead = sha
	sha2, err := c.CommitOnBranch(t.Context(), req)
	if err != nil {
		t.Fatalf("second CommitOnBranch: %v", err)
	}
	if b, _ := repo.File(sha2, "app/deploy.yaml"); string(b) != "image: api:v3\n" {
		t.Errorf("deploy.yaml = %q", b)
	}
	if b, _ := repo.File(sha2, "old.txt"); string(b) != "x" {
		t.Error("second commit is not based on base")
	}
	if calls := fake.Calls(); calls["git/update-ref"] != 1 {
		t.Errorf("second commit calls = %v, want a forced update-ref", calls)
	}
}

func TestCommitOnBranchStaleHead(t *testing.T) {
	repo := forgetest.NewBareRepo(t, "main", map[string][]byte{"a": []byte("1")})
	base, _ := repo.Head("main")
	_, c, _ := setup(t, forgetest.GitHubOptions{Git: repo}, "acme/manifests")
	// A sha that is not a commit: GitHub refuses to create the branch.
	_, err := c.CommitOnBranch(t.Context(), github.CommitRequest{Branch: "b", BaseSHA: strings.Repeat("1", 40), Headline: "h", Files: map[string][]byte{"a": []byte("2")}})
	if !errors.Is(err, forge.ErrValidation) {
		t.Errorf("unknown base: %v, want ErrValidation", err)
	}
	if _, err := c.CommitOnBranch(t.Context(), github.CommitRequest{Branch: "b", BaseSHA: base, Headline: "h", Files: map[string][]byte{"a": []byte("2")}}); err != nil {
		t.Fatal(err)
	}
}

// The reset of the head branch holds a lease like the git push: a branch
// that is not where bump last saw it (someone pushed, or it appeared) is
// left as it is, with forge.ErrConflict.
func TestCommitOnBranchLease(t *testing.T) {
	repo := forgetest.NewBareRepo(t, "main", map[string][]byte{"a": []byte("1")})
	base, _ := repo.Head("main")
	fake, c, _ := setup(t, forgetest.GitHubOptions{Git: repo}, "acme/manifests")
	req := github.CommitRequest{Branch: "bump/a", BaseSHA: base, Headline: "bump a", Files: map[string][]byte{"a": []byte("2")}}
	ours, err := c.CommitOnBranch(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else commits on top of bump's commit.
	theirs, err := repo.CommitFiles("bump/a", ours, map[string][]byte{"mine": []byte("x")}, "my fix", "")
	if err != nil {
		t.Fatal(err)
	}
	// A run that last saw the branch at ours must not reset it.
	req.ExpectedHead = ours
	req.Files = map[string][]byte{"a": []byte("3")}
	fake.ResetCalls()
	if _, err := c.CommitOnBranch(t.Context(), req); !errors.Is(err, forge.ErrConflict) || !strings.Contains(err.Error(), theirs[:12]) {
		t.Fatalf("branch moved since: %v, want ErrConflict naming %s", err, theirs[:12])
	}
	if head, _ := repo.Head("bump/a"); head != theirs {
		t.Fatalf("the branch was moved from their commit to %s", head)
	}
	if calls := fake.Calls(); calls["git/update-ref"] != 0 || calls["graphql/createCommitOnBranch"] != 0 {
		t.Errorf("calls after the refusal: %v", calls)
	}
	// A run that saw no branch must not take over one that appeared.
	req.Branch, req.ExpectedHead = "bump/b", ""
	if _, err := repo.CommitFiles("main", base, map[string][]byte{"b": []byte("1")}, "main moves", ""); err != nil {
		t.Fatal(err)
	}
	main, _ := repo.Head("main")
	if err := repo.SetBranch("bump/b", main, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitOnBranch(t.Context(), req); !errors.Is(err, forge.ErrConflict) {
		t.Fatalf("branch appeared since: %v, want ErrConflict", err)
	}
	if head, _ := repo.Head("bump/b"); head != main {
		t.Fatal("the branch that appeared was moved")
	}
}

// racingRepo lets another push land right after the fake resets a branch,
// before createCommitOnBranch runs.
type racingRepo struct {
	*forgetest.BareRepo
	theirs string
}

func (r *racingRepo) SetBranch(branch, sha, old string) error {
	if err := r.BareRepo.SetBranch(branch, sha, old); err != nil {
		return err
	}
	var err error
	r.theirs, err = r.CommitFiles(branch, sha, map[string][]byte{"theirs": []byte("x")}, "theirs", "")
	return err
}

// GitHub's own lease, expectedHeadOid, turns a push that lands between the
// reset and the commit into forge.ErrConflict; their commit stays.
func TestCommitOnBranchStaleExpectedHead(t *testing.T) {
	bare := forgetest.NewBareRepo(t, "main", map[string][]byte{"a": []byte("1")})
	base, _ := bare.Head("main")
	repo := &racingRepo{BareRepo: bare}
	_, c, _ := setup(t, forgetest.GitHubOptions{Git: repo}, "acme/manifests")
	if err := bare.SetBranch("bump/a", base, ""); err != nil {
		t.Fatal(err)
	}
	old, err := bare.CommitFiles("bump/a", base, map[string][]byte{"a": []byte("2")}, "bump a\n\nBumped-by: bump", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CommitOnBranch(t.Context(), github.CommitRequest{Branch: "bump/a", BaseSHA: base, ExpectedHead: old, Headline: "bump a", Files: map[string][]byte{"a": []byte("3")}})
	if !errors.Is(err, forge.ErrConflict) {
		t.Fatalf("push between reset and commit: %v, want ErrConflict", err)
	}
	if head, _ := bare.Head("bump/a"); head != repo.theirs || head == "" {
		t.Errorf("branch at %s, want their commit %s", head, repo.theirs)
	}
}

func TestEnableAutoMergeErrors(t *testing.T) {
	_, c, _ := setup(t, forgetest.GitHubOptions{}, "acme/manifests")
	err := c.EnableAutoMerge(t.Context(), &forge.PullRequest{Number: 9, NodeID: "PR_missing"}, "rebase")
	if !errors.Is(err, forge.ErrNotFound) || !strings.Contains(err.Error(), "PR_missing") {
		t.Errorf("unknown node: %v", err)
	}
	err = c.EnableAutoMerge(t.Context(), &forge.PullRequest{Number: 9, NodeID: "PR_x"}, "fast-forward")
	if !errors.Is(err, forge.ErrValidation) {
		t.Errorf("bad method: %v", err)
	}
}

func TestAppToken(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	fake := forgetest.NewGitHub(t, forgetest.GitHubOptions{Token: canary, AppID: 77, AppKey: &key.PublicKey})
	repo := forge.Repo{Host: "github.com", Path: "acme/manifests"}

	tok, err := github.AppToken(t.Context(), github.AppOptions{BaseURL: fake.URL(), AppID: 77, PrivateKey: pemKey, Repo: repo})
	if err != nil {
		t.Fatalf("AppToken: %v", err)
	}
	c, err := github.New(github.Options{BaseURL: fake.URL(), Token: tok, Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPullRequests(t.Context(), "main"); err != nil {
		t.Errorf("installation token does not work: %v", err)
	}
	if calls := fake.Calls(); calls["apps/get-repo-installation"] != 1 || calls["apps/create-installation-access-token"] != 1 {
		t.Errorf("calls = %v", calls)
	}

	_, err = github.AppToken(t.Context(), github.AppOptions{BaseURL: fake.URL(), AppID: 78, PrivateKey: pemKey, Repo: repo})
	if !errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("wrong app id: %v, want ErrUnauthorized", err)
	}
	_, err = github.AppToken(t.Context(), github.AppOptions{BaseURL: fake.URL(), AppID: 77, PrivateKey: pemKey, Repo: forge.Repo{Path: "acme/other"}})
	if !errors.Is(err, forge.ErrNotFound) || !strings.Contains(err.Error(), "not installed on acme/other") {
		t.Errorf("not installed: %v", err)
	}
	if _, err := github.AppToken(t.Context(), github.AppOptions{BaseURL: fake.URL(), AppID: 77, PrivateKey: []byte("garbage"), Repo: repo}); err == nil || strings.Contains(err.Error(), "garbage") {
		t.Errorf("bad key: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, o := range []github.Options{
		{Token: "", Repo: forge.Repo{Path: "a/b"}},
		{Token: canary, Repo: forge.Repo{Path: "justname"}},
		{Token: canary, Repo: forge.Repo{Path: "a/b"}, BaseURL: "not a url"},
	} {
		if _, err := github.New(o); err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("New(%+v) = %v", o.Repo, err)
		}
	}
}
