// Package doccheck holds the tests that keep the documentation whole: every
// relative link in README.md and docs/ names a file that exists, and every
// anchor a heading of it.
package doccheck
