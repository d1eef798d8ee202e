package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"github.com/refundguard/refundguard/pkg/claim"
)

// openapiYAML is the hand-written OpenAPI 3.1 description of the route table, in YAML so
// it can be read and reviewed; it is served as JSON. TestOpenAPIMatchesRoutes keeps it in
// step with routes.go, and the handler tests check real responses against its schemas.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI document served at /openapi.json.
func OpenAPI() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	return out, nil
}

func (a *API) openapi(c *gin.Context, _ claim.Principal) error {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", a.openapiJSON)
	return nil
}
