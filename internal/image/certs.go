package image

import (
	"bytes"
	"encoding/pem"
	"errors"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// CACertificates is the PEM bundle of root certificates for the image: the
// Mozilla NSS roots that golang.org/x/crypto/x509roots/fallback carries, at
// the version go.mod pins, so every build gets the same bytes whatever the
// build host trusts. Roots that NSS constrains beyond what X.509 can say
// (a distrust-after date) are left out: a PEM file would trust them fully.
func CACertificates() ([]byte, error) {
	var buf bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
	}
	if buf.Len() == 0 {
		return nil, errors.New("no root certificates in the fallback bundle")
	}
	return buf.Bytes(), nil
}
