package gateway

import "github.com/gin-gonic/gin"

// registerRecordReads mounts the portal's record reads under the authenticated, enrolled api
// group.
func (h *portalHandlers) registerRecordReads(api *gin.RouterGroup) {}
