package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/refundguard/refundguard/pkg/claim"
)

// Codes that only exist at the HTTP edge, next to the service's claim.Code values.
const (
	codeMalformed        claim.Code = "malformed"          // the body cannot be parsed at all (bad JSON, broken multipart)
	codeMethodNotAllowed claim.Code = "method_not_allowed" // the path exists, the method does not
)

// statusByCode is the one place error codes become HTTP statuses. Invalid fields are 422
// (the request parsed but breaks a rule); a body that does not parse is 400. Too large is
// 413 whether the body, one photo or its pixel count is over the limit.
var statusByCode = map[claim.Code]int{
	claim.CodeInvalid:          http.StatusUnprocessableEntity,
	claim.CodeUnauthenticated:  http.StatusUnauthorized,
	claim.CodeForbidden:        http.StatusForbidden,
	claim.CodeNotFound:         http.StatusNotFound,
	claim.CodeConflict:         http.StatusConflict,
	claim.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	claim.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	claim.CodeUnavailable:      http.StatusServiceUnavailable,
	claim.CodeInternal:         http.StatusInternalServerError,
	codeMalformed:              http.StatusBadRequest,
	codeMethodNotAllowed:       http.StatusMethodNotAllowed,
}

// statusOf maps a code to its status; an unknown code is a bug below and answers 500.
func statusOf(code claim.Code) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// problemTypePrefix makes each code a stable problem type URI (RFC 9457 §3.1.1). The URN
// is not dereferenceable; the README's error table documents every code.
const problemTypePrefix = "urn:refundguard:problem:"

// Problem is an RFC 9457 problem details body, with refundguard's extension members: the
// machine-readable code, the offending input field when there is one, and the request id
// to quote in a support request.
type Problem struct {
	Type      string     `json:"type"`
	Title     string     `json:"title"`
	Status    int        `json:"status"`
	Detail    string     `json:"detail"`
	Instance  string     `json:"instance,omitempty"`
	Code      claim.Code `json:"code"`
	Field     string     `json:"field,omitempty"`
	RequestID string     `json:"request_id,omitempty"`
}

// problemFor builds the body for err. Only a coded *claim.Error with a known, non-internal
// code shows its message and field; anything else is an internal error with a generic
// detail: causes are logged, never shown.
func problemFor(err error) Problem {
	code := claim.ErrorCode(err)
	if _, known := statusByCode[code]; !known {
		code = claim.CodeInternal
	}
	status := statusOf(code)
	p := Problem{Type: problemTypePrefix + string(code), Title: http.StatusText(status), Status: status, Code: code}
	var ce *claim.Error
	if code == claim.CodeInternal || !errors.As(err, &ce) {
		p.Detail = internalDetail
		return p
	}
	p.Detail, p.Field = ce.Message, ce.Field
	if p.Detail == "" {
		p.Detail = p.Title
	}
	return p
}

// internalDetail is all a client learns about a server-side failure.
const internalDetail = "an internal error occurred; quote the request_id when reporting it"

// writeError answers with err as problem JSON, logging the cause of server-side failures.
// It aborts the chain so no later handler writes after it.
func (a *API) writeError(c *gin.Context, err error) {
	p := problemFor(err)
	p.Instance = c.Request.URL.Path
	p.RequestID = requestIDOf(c)
	c.Set(ctxErrorCode, p.Code)
	if p.Status >= 500 {
		a.log.ErrorContext(c.Request.Context(), "request failed",
			"code", string(p.Code), "error", cleanForLog(err.Error()))
	}
	switch p.Status {
	case http.StatusUnauthorized:
		c.Header("WWW-Authenticate", `Bearer realm="refundguard"`)
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", "5")
	}
	writeProblem(c, p)
}

func writeProblem(c *gin.Context, p Problem) {
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.Status(p.Status)
	c.Abort()
	// The status is already sent: an encoding failure here can only be a broken connection.
	_ = jsonEncode(c.Writer, p)
}
