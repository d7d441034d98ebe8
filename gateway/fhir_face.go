package gateway

import "github.com/gin-gonic/gin"

// registerFHIRFace mounts the FHIR face of every network under FHIRPrefix.
func (h *portalHandlers) registerFHIRFace(r *gin.Engine) {}
