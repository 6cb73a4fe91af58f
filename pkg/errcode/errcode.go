// Package errcode declares the codes of the JSON error shape
// {"error": {"code", "message"}}: the HTTP edge answers with them and a
// failed run records one. They are part of the API: clients switch on
// them. The package depends on nothing, so the core (the registry's run
// records, the pipeline) names a code without importing the HTTP package.
package errcode

const (
	InvalidArgument      = "invalid_argument"
	Unauthenticated      = "unauthenticated"
	PermissionDenied     = "permission_denied"
	NotFound             = "not_found"
	MethodNotAllowed     = "method_not_allowed"
	Conflict             = "conflict"
	Integrity            = "integrity"
	TooLarge             = "payload_too_large"
	UnsupportedMediaType = "unsupported_media_type"
	ResourceExhausted    = "resource_exhausted"
	Unavailable          = "unavailable"
	Internal             = "internal"
	// Cancelled ends a cancelled run; DeadlineExceeded a run that took
	// longer than TRAINER_RUN_TIMEOUT.
	Cancelled        = "cancelled"
	DeadlineExceeded = "deadline_exceeded"
)
