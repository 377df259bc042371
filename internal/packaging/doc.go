// Package packaging has no code, only tests of what ships bump: the install
// script the Action runs, action.yml and the workflows, the GitLab CI
// template, the Dockerfile, the release configuration and the docs' examples.
package packaging
