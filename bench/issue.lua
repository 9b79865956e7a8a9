-- wrk script: POST a ticket for one of the demo centre's services, round robin per connection
local services = {"HT", "CT", "DC", "LD", "VH", "TK"}
local i = 0
request = function()
  i = i + 1
  local body = '{"service": "' .. services[(i % #services) + 1] .. '"}'
  return wrk.format("POST", "/api/v1/tickets", {["Content-Type"] = "application/json"}, body)
end
