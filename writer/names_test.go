package writer

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The patterns the hand-written checks in names.go stand for.
var (
	generationPattern  = regexp.MustCompile(`^\.\.[0-9]{4}(_[0-9]{2}){5}\.[0-9a-f]{8}$`)
	inPlaceTempPattern = regexp.MustCompile(`^\.injector\.tmp-[0-9a-f]{16}$`)
)

func TestNameChecksMatchPatterns(t *testing.T) {
	checks := []struct {
		name    string
		check   func(string) bool
		pattern *regexp.Regexp
		real    func() string // a name the writer gives
	}{
		{"generation", isGeneration, generationPattern, func() string {
			return genPrefix + time.Now().UTC().Format(timeLayout) + "." + randomHex(4)
		}},
		{"inPlaceTemp", isInPlaceTemp, inPlaceTempPattern, func() string { return ".injector.tmp-" + randomHex(8) }},
	}
	fixed := []string{
		"", ".", "..", "..data", "..data_tmp", "..tmp.0123456789abcdef",
		"..2026_11_30_00_37_34.0123abcd", "..2026_11_30_00_37_34.0123ABCD", "..2026_11_30_00_37_3.0123abcd",
		"..2026_11_30_00_37_34.0123abcd0", "..2026-11-30_00_37_34.0123abcd", "...2026_11_30_00_37_34.0123abcd",
		"..2026_11_30_00_37_34_0123abcd", "..2026_11_30_00_37_3x.0123abcd", ".2026_11_30_00_37_34.0123abcd",
		".x.tmp-0123456789abcdef", ".x.old-0123456789abcdef", "..tmp-0123456789abcdef", ".x.new-0123456789abcdef",
		"x.tmp-0123456789abcdef", ".x.tmp-0123456789abcdeg", ".x.tmp-0123456789abcde", ".a.b.old-0123456789abcdef",
		"..old-0123456789abcdef", "...old-0123456789abcdef", ".x.tmp-0123456789ABCDEF", ".x.tmp-0123456789abcdef ",
		".injector.tmp-0123456789abcdef", ".injector.tmp-0123456789abcde", ".injector.tmp-0123456789abcdeff",
		".injector.old-0123456789abcdef", "injector.tmp-0123456789abcdef", ".injector.tmp-0123456789abcdeF",
	}
	// Random names over the characters that matter, mutations of real ones.
	const alphabet = "._-0123456789abcdefgxtmpoldinjector"
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range checks {
		names := append([]string(nil), fixed...)
		for range 2000 {
			b := []byte(c.real())
			names = append(names, string(b))
			switch rng.IntN(3) {
			case 0:
				b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				b = b[:rng.IntN(len(b))]
			default:
				b = append(b[:rng.IntN(len(b))], alphabet[rng.IntN(len(alphabet))])
			}
			names = append(names, string(b), strings.Repeat(".", rng.IntN(3))+string(b))
		}
		for _, n := range names {
			if got, want := c.check(n), c.pattern.MatchString(n); got != want {
				t.Errorf("%s(%q) = %v, the pattern says %v", c.name, n, got, want)
			}
		}
		if !c.check(c.real()) {
			t.Errorf("%s rejects a name the writer gives: %q", c.name, c.real())
		}
	}
}
