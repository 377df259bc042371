package github

import "testing"

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct{ base, rest, graphql string }{
		{"", "https://api.github.com/", "https://api.github.com/graphql"},
		{"https://ghe.example.invalid/api/v3", "https://ghe.example.invalid/api/v3/", "https://ghe.example.invalid/api/graphql"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/graphql"},
	} {
		u, err := baseURL(tc.base)
		if err != nil {
			t.Fatalf("baseURL(%q): %v", tc.base, err)
		}
		if u.String() != tc.rest || graphqlURL(u) != tc.graphql {
			t.Errorf("%q: rest %s graphql %s, want %s %s", tc.base, u, graphqlURL(u), tc.rest, tc.graphql)
		}
	}
}
