// Package testsupport holds the helpers the tests of several packages
// share: what an application sees under an output root, building the
// injector, starting the local protocol peers (moto_server, MinIO), and a
// buffer safe for concurrent writes and reads. Its package testplan turns
// a spec into a plan and a reference into its target.
//
// Only tests import it; TestOnlyTestsImport checks that no other package
// does.
package testsupport
