package claim

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers. Codes are stable API: the HTTP layer maps
// each to a status in one place (pkg/httpapi/errors.go) and clients may branch on them.
type Code string

const (
	CodeInvalid          Code = "invalid"           // the request is malformed or breaks a rule
	CodeUnauthenticated  Code = "unauthenticated"   // no or bad credentials
	CodeForbidden        Code = "forbidden"         // the principal may not do this
	CodeNotFound         Code = "not_found"         // absent, or invisible to the principal
	CodeConflict         Code = "conflict"          // clashes with the current state (idempotency, lifecycle)
	CodeTooLarge         Code = "too_large"         // body, file or image exceeds a limit
	CodeUnsupportedMedia Code = "unsupported_media" // not an image we can read, or a wrong content type
	CodeUnavailable      Code = "unavailable"       // a dependency is down; retry later
	CodeInternal         Code = "internal"          // a bug or an unexpected failure; details are logged, not shown
)

// Error is the project's error value: a code for machines, a message safe to show to
// the caller, and an optional wrapped cause that is only ever logged.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending input field, when there is one
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error whose message is safe to return to clients.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError reports an invalid input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause to a coded error; the cause is logged, never shown.
func Wrap(err error, code Code, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal otherwise.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns a message safe to show a client: the *Error's message, or a
// generic one for anything unexpected.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "an internal error occurred"
}

// IsNotFound reports whether err carries CodeNotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }
