package regfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       string // content, or a part of the error
		ok         bool
	}{
		{"regular", write("ok", "1234\n"), "1234\n", true},
		{"at the limit", write("eight", "12345678"), "12345678", true},
		{"over the limit", write("nine", "123456789"), "more than the limit of 8", false},
		{"directory", dir, "a directory, not a regular file", false},
		{"FIFO", fifo, "a FIFO, not a regular file", false},
		{"device", os.DevNull, "a device, not a regular file", false},
		{"missing", filepath.Join(dir, "none"), "no such file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var data []byte
			var err error
			go func() {
				defer close(done)
				data, err = Read(tt.path, 8)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("Read blocked")
			}
			if tt.ok {
				if err != nil || string(data) != tt.want {
					t.Fatalf("Read = %q, %v; want %q", data, err, tt.want)
				}
				return
			}
			var pe *fs.PathError
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &pe) || pe.Path != tt.path {
				t.Fatalf("Read error %v, want a *fs.PathError for %s saying %q", err, tt.path, tt.want)
			}
		})
	}
}

// The errors say what the name was, as types a caller can word its own way.
func TestReadErrorTypes(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte("123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	var nr *NotRegularError
	if _, err := Read(dir, 8); !errors.As(err, &nr) || nr.Kind != "a directory" {
		t.Errorf("directory: %v", err)
	}
	var tl *TooLargeError
	if _, err := Read(big, 8); !errors.As(err, &tl) || tl.Size != 9 || tl.Limit != 8 {
		t.Errorf("too large: %v", err)
	}
}
