"""The Lambda handler's light path: a plain score answered from the API Gateway event itself,
without the ASGI app, so a cold start that scores never imports FastAPI, Starlette or Mangum."""
