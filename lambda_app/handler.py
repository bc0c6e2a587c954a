"""AWS Lambda entry point: API Gateway events (REST v1 and HTTP v2) through Mangum.

The app and its model are built at import, in Lambda's init phase, so warm
invocations never reload the model; Mangum's lifespan support is off because it may
run per invocation.
"""

from mangum import Mangum

from lambda_app.app import create_app

app = create_app()
handler = Mangum(app, lifespan="off")
