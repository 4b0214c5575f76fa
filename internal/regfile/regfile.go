// Package regfile reads small files that another container may have put
// in a shared volume, where a FIFO, a device or a directory in their place
// must be refused without waiting on it.
package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read returns the content of the regular file name, of at most limit
// bytes. Its errors are *fs.PathError, which name the file. Anything else is refused without being read: the name is checked
// before it is opened (a device is never opened), opened non-blocking (the
// open of a FIFO does not wait for a writer) and checked again once open.
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
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("more than the limit of %d bytes", limit)}
	}
	return data, nil
}

func check(fi fs.FileInfo, limit int64) error {
	var kind string
	switch t := fi.Mode().Type(); {
	case t == 0:
		if fi.Size() > limit {
			return fmt.Errorf("%d bytes, more than the limit of %d", fi.Size(), limit)
		}
		return nil
	case t&fs.ModeDir != 0:
		kind = "a directory"
	case t&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case t&fs.ModeDevice != 0:
		kind = "a device"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	default:
		kind = "not a regular file"
		return errors.New(kind)
	}
	return fmt.Errorf("%s, not a regular file", kind)
}
