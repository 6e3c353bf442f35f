-- Argo CD health of netconverge.io Device, PortForward and VlanInterface: read the Ready
-- condition, once the controller has observed the current generation.
local hs = {status = "Progressing", message = "waiting for netconverge"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.status.observedGeneration ~= nil and obj.metadata.generation ~= nil and
   obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "netconverge has not observed generation " .. obj.metadata.generation .. " yet"
  return hs
end
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    if c.status == "True" then
      hs.status = "Healthy"
    elseif c.reason == "Conflict" or c.reason == "InvalidSpec" or c.reason == "Drifted" then
      hs.status = "Degraded"
    else
      hs.status = "Progressing"
    end
    hs.message = c.message or c.reason or ""
    return hs
  end
end
return hs
