package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/claim"
)

// requireMediaType answers 415 unless the request's Content-Type is want.
func requireMediaType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		got := ct
		if got == "" {
			got = "none"
		}
		return claim.Errorf(claim.CodeUnsupportedMedia, "this endpoint takes Content-Type %s, not %s", want, cleanForLog(got))
	}
	return nil
}

// decodeJSON reads exactly one JSON object into dst. Unknown fields are refused: a typo
// such as "deliverd_at" would otherwise be silently dropped.
func decodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bodyError(err, "")
		}
		return &claim.Error{Code: codeMalformed, Message: "the body holds something after its JSON object", Err: err}
	}
	return nil
}

// jsonError turns encoding/json's errors into coded ones that name the field when they can.
func jsonError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		mbe    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return bodyError(err, "")
	case errors.Is(err, io.EOF):
		return &claim.Error{Code: codeMalformed, Message: "the request body is empty; a JSON object is expected"}
	case errors.As(err, &syntax):
		return &claim.Error{Code: codeMalformed, Message: fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &claim.Error{Code: codeMalformed, Message: "the JSON body is truncated", Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return &claim.Error{Code: codeMalformed, Message: fmt.Sprintf("the body must be a JSON object, not %s", typ.Value), Err: err}
		}
		return &claim.Error{Code: claim.CodeInvalid, Field: field, Message: fmt.Sprintf("%s must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value), Err: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &claim.Error{Code: claim.CodeInvalid, Field: cleanForLog(field), Message: fmt.Sprintf("unknown field %q", cleanForLog(field))}
	}
	// time.Time's UnmarshalJSON and similar report plain errors.
	return &claim.Error{Code: claim.CodeInvalid, Message: "the body has an invalid value: " + cleanForLog(err.Error()), Err: err}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "a " + goKind
}

// uploadForm is a parsed multipart body: single-valued text fields and the photos.
type uploadForm struct {
	fields map[string]string
	photos []adjudicate.Upload
}

// photosField is the multipart field that carries files, on every upload endpoint.
const photosField = "photos"

// readUploadForm streams a multipart/form-data body part by part: text fields from allowed
// (each at most once, each within MaxFieldBytes) and up to MaxPhotos files under "photos",
// each within MaxPhotoBytes. Nothing touches the disk, unlike ParseMultipartForm, and the
// client's file name is kept only as a display name. Whether the bytes are an image is
// the service's call (it sniffs the content); empty files are refused here.
func (a *API) readUploadForm(r *http.Request, allowed ...string) (uploadForm, error) {
	form := uploadForm{fields: map[string]string{}}
	mr, err := r.MultipartReader()
	if err != nil {
		return form, &claim.Error{Code: codeMalformed, Message: "the body is not a multipart/form-data body with a boundary", Err: err}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return form, bodyError(err, "the multipart body is malformed")
		}
		name := part.FormName()
		switch {
		case name == photosField:
			if len(form.photos) == a.limits.MaxPhotos {
				return form, &claim.Error{Code: claim.CodeInvalid, Field: photosField, Message: fmt.Sprintf("at most %d photos per request", a.limits.MaxPhotos)}
			}
			data, err := readLimited(part, a.limits.MaxPhotoBytes)
			if err != nil {
				return form, photoError(err, len(form.photos), a.limits.MaxPhotoBytes)
			}
			if len(data) == 0 {
				return form, &claim.Error{Code: claim.CodeInvalid, Field: photoFieldName(len(form.photos)), Message: "the photo is empty"}
			}
			form.photos = append(form.photos, adjudicate.Upload{Name: displayName(part.FileName(), len(form.photos)), Data: data})
		case contains(allowed, name):
			if _, dup := form.fields[name]; dup {
				return form, &claim.Error{Code: claim.CodeInvalid, Field: name, Message: fmt.Sprintf("%s is given more than once", name)}
			}
			data, err := readLimited(part, a.limits.MaxFieldBytes)
			if errors.Is(err, errPartTooLarge) {
				return form, &claim.Error{Code: claim.CodeTooLarge, Field: name, Message: fmt.Sprintf("%s is over the limit of %s", name, formatBytes(a.limits.MaxFieldBytes))}
			}
			if err != nil {
				return form, bodyError(err, "the multipart body is malformed")
			}
			form.fields[name] = string(data)
		default:
			_ = part.Close()
			return form, &claim.Error{Code: claim.CodeInvalid, Field: cleanForLog(name), Message: fmt.Sprintf("unknown form field %q; this endpoint takes %s", cleanForLog(name), strings.Join(append(append([]string{}, allowed...), photosField), ", "))}
		}
	}
}

var errPartTooLarge = errors.New("part over the limit")

// readLimited reads a whole part, failing with errPartTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errPartTooLarge
	}
	return buf.Bytes(), nil
}

func photoError(err error, index int, limit int64) error {
	if errors.Is(err, errPartTooLarge) {
		return &claim.Error{Code: claim.CodeTooLarge, Field: photoFieldName(index), Message: fmt.Sprintf("photo %d is over the limit of %s", index+1, formatBytes(limit))}
	}
	return bodyError(err, "the multipart body is malformed")
}

func photoFieldName(index int) string { return photosField + "[" + strconv.Itoa(index) + "]" }

// displayName keeps the last path element of the client's file name, cleaned, for
// display in reports; the blob store names files by their sha256, never by this.
func displayName(name string, index int) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = cleanForLog(name)
	for len(name) > 128 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == "/" {
		name = "photo-" + strconv.Itoa(index+1)
	}
	return name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// require returns the named fields' values, or a field error for the first missing one.
func (f uploadForm) require(names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(f.fields[n]) == "" {
			return claim.FieldError(n, "%s is required", n)
		}
	}
	return nil
}

// requirePhotos refuses a body without any photo.
func (f uploadForm) requirePhotos() error {
	if len(f.photos) == 0 {
		return claim.FieldError(photosField, "at least one photo is required (multipart field %q)", photosField)
	}
	return nil
}
