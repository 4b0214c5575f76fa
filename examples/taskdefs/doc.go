// Package taskdefs holds example Amazon ECS task definitions, RunTask inputs
// and IAM policies for the secret injector sidecar. The package has no code
// of its own; its tests check that every JSON file in this directory is a
// valid API request body, that the injector is wired correctly into each task
// and that each IAM policy grants exactly what the injector spec reads.
package taskdefs
