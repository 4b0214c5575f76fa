package writer

import "strings"

// The names below are checked by hand, not with regular expressions: the
// package's init would compile them on every start-up, even for a run that
// never looks at a leftover (names_test.go holds the patterns they match).

// isGeneration reports whether name is one mkGeneration gives:
// ..<YYYY_MM_DD_hh_mm_ss>.<8 lowercase hex>.
func isGeneration(name string) bool {
	rest, ok := strings.CutPrefix(name, genPrefix)
	if !ok || len(rest) != len(timeLayout)+1+8 {
		return false
	}
	for i := range len(timeLayout) {
		if timeLayout[i] == '_' {
			if rest[i] != '_' {
				return false
			}
		} else if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return rest[len(timeLayout)] == '.' && isLowerHex(rest[len(timeLayout)+1:])
}

// inPlaceTempPrefix begins the names of Update's temporary files.
const inPlaceTempPrefix = ".injector.tmp-"

// isInPlaceTemp reports whether name is one of Update's temporary files,
// .injector.tmp-<16 lowercase hex>.
func isInPlaceTemp(name string) bool {
	rest, ok := strings.CutPrefix(name, inPlaceTempPrefix)
	return ok && len(rest) == 16 && isLowerHex(rest)
}

// isLowerHex reports whether s is made only of 0-9 and a-f.
func isLowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
