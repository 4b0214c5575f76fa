// Package testsupport holds the helpers the tests of several packages
// share: what an application sees under an output root, building the
// injector, starting the local
// protocol peers (moto_server, MinIO), a buffer safe for concurrent writes
// and reads, and (in testplan) turning a spec into a plan.
//
// Only tests import it; TestOnlyTestsImport checks that no other package
// does.
package testsupport
