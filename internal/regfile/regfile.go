// Package regfile reads small files that another container may have put
// in a shared volume, where a FIFO, a device or a directory in their place
// must be refused without waiting on it.
package regfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read returns the content of the regular file name, of at most limit
// bytes. Its errors are *fs.PathError, which name the file. Anything else
// (a *NotRegularError) or anything larger (a *TooLargeError) is refused
// without being read: the name is checked before it is opened (a device is
// never opened), opened non-blocking (the open of a FIFO does not wait for
// a writer) and checked again once open.
// A file system that does not answer blocks it; callers that must stay
// cancellable run it on a goroutine of its own.
func Read(name string, limit int64) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := check(fi, limit); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(fi, limit); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: &TooLargeError{Size: -1, Limit: limit}}
	}
	return data, nil
}

// NotRegularError is the error (inside the *fs.PathError) for a name that
// is not a regular file.
type NotRegularError struct {
	// Kind is what the name is instead: "a directory", "a FIFO", "a
	// device", "a socket", or "" for any other kind.
	Kind string
}

func (e *NotRegularError) Error() string {
	if e.Kind == "" {
		return "not a regular file"
	}
	return e.Kind + ", not a regular file"
}

// TooLargeError is the error (inside the *fs.PathError) for a file larger
// than the limit.
type TooLargeError struct {
	// Size is the file's size as stat gave it, or -1 when the file grew
	// past the limit while it was read.
	Size, Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("more than the limit of %d bytes", e.Limit)
	}
	return fmt.Sprintf("%d bytes, more than the limit of %d", e.Size, e.Limit)
}

func check(fi fs.FileInfo, limit int64) error {
	switch t := fi.Mode().Type(); {
	case t == 0:
		if fi.Size() > limit {
			return &TooLargeError{Size: fi.Size(), Limit: limit}
		}
		return nil
	case t&fs.ModeDir != 0:
		return &NotRegularError{Kind: "a directory"}
	case t&fs.ModeNamedPipe != 0:
		return &NotRegularError{Kind: "a FIFO"}
	case t&fs.ModeDevice != 0:
		return &NotRegularError{Kind: "a device"}
	case t&fs.ModeSocket != 0:
		return &NotRegularError{Kind: "a socket"}
	default:
		return &NotRegularError{}
	}
}
