-- Argo CD health check for deployreq.dev/DeploymentRequest.
-- Cancelled and Superseded are Healthy: the request ended as its owner asked, nothing is broken.
local hs = {status = "Progressing", message = "Waiting for the operator"}
if obj.status == nil or obj.status.phase == nil then
  return hs
end
local gen = obj.metadata.generation
local observed = obj.status.observedGeneration
if gen ~= nil and observed ~= nil and observed < gen then
  hs.message = "Waiting for the operator to observe generation " .. gen
  return hs
end
local phase = obj.status.phase
local message = obj.status.message
if message == nil or message == "" then
  message = phase
end
hs.message = message
if phase == "Succeeded" or phase == "Cancelled" or phase == "Superseded" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "RolledBack" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
return hs
