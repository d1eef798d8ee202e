package forensics

import (
	"errors"
	"fmt"
)

// Error codes for files that cannot be analysed. Stable, like finding codes.
const (
	ErrCodeUnsupportedFormat = "unsupported_format" // not an image, or a format we cannot decode (HEIC without a decoder)
	ErrCodeCorrupt           = "corrupt"            // the format is known but the data is broken or truncated
	ErrCodeTooLarge          = "too_large"          // over the byte or pixel limit
	ErrCodeCanceled          = "canceled"           // the context ended first
	ErrCodeIO                = "io"                 // the file could not be read
)

// Error is why a file could not be analysed; it is also the report's "error" object.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }
func (e *Error) Unwrap() error { return e.Err }

func newError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// AsError returns err as an *Error, classifying foreign errors as corrupt input.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ErrCodeCorrupt, Message: err.Error(), Err: err}
}
