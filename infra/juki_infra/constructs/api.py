"""The private REST API: reachable only through our execute-api VPC endpoint, SigV4 on every method."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

if TYPE_CHECKING:
    from juki_infra.config import JukiConfig
    from juki_infra.constructs.data import DataStore
    from juki_infra.constructs.network import Network
    from juki_infra.description import SystemDescription

INVOKE = "execute-api:Invoke"
ANY_ROUTE = "execute-api:/*"


class PrivateApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: SystemDescription,
        config: JukiConfig,
        data: DataStore,
        network: Network,
        handler: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint = network.api_endpoint
        self.endpoint = endpoint
        self.access_log_group = data.log_group(self, "AccessLogs")
        from_our_endpoint = {"aws:SourceVpce": endpoint.vpc_endpoint_id}
        invokers: list[iam.IPrincipal] = [
            iam.ArnPrincipal(arn) if arn.startswith("arn:") else iam.AccountPrincipal(arn)
            for arn in config.api_allowed_principals
        ] or [iam.AccountRootPrincipal()]
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AllowSignedCallsThroughOurEndpoint",
                    effect=iam.Effect.ALLOW,
                    principals=invokers,
                    actions=[INVOKE],
                    resources=[ANY_ROUTE],
                    conditions={"StringEquals": from_our_endpoint},
                ),
                iam.PolicyStatement(
                    sid="DenyEverythingElse",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=[INVOKE],
                    resources=[ANY_ROUTE],
                    conditions={"StringNotEquals": from_our_endpoint},
                ),
            ]
        )
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=description.name("api"),
            description="Juki private API (住民記録システム): counter terminals and calling systems",
            endpoint_configuration=apigateway.EndpointConfiguration(
                types=[apigateway.EndpointType.PRIVATE], vpc_endpoints=[endpoint]
            ),
            policy=policy,
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name="v1",
                access_log_destination=apigateway.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                tracing_enabled=True,
                throttling_rate_limit=config.api_throttle_rate_limit,
                throttling_burst_limit=config.api_throttle_burst_limit,
                # Execution logs of errors only, never request/response bodies (personal data).
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        # API Gateway checks that the declared parameters are present; the body is validated by
        # the function against the OpenAPI models (one definition, in the handler).
        self.request_validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        # The handler routes internally: ANY on the root and on {proxy+}. Calling systems sign with
        # SigV4 (IAM authorization); the acting staff member's ES256 token travels in the
        # X-Juki-Staff-Token header and is verified by the function.
        integration = apigateway.LambdaIntegration(handler)
        proxy = self.rest_api.root.add_proxy(any_method=False)
        for resource in (self.rest_api.root, proxy):
            resource.add_method(
                "ANY",
                integration,
                authorization_type=apigateway.AuthorizationType.IAM,
                request_validator=self.request_validator,
            )
