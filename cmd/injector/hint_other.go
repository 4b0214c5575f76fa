//go:build !unix

package main

// writeHint has nothing to add where file ownership is not Unix's.
func writeHint(error, string) string { return "" }
