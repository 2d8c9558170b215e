"""A closed VPC: isolated subnets only, no internet or NAT gateway, AWS services through endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

if TYPE_CHECKING:
    from juki_infra.config import JukiConfig
    from juki_infra.constructs.data import DataStore


def interface_endpoint_services() -> dict[str, ec2.InterfaceVpcEndpointAwsService]:
    """Interface endpoints for every AWS API the functions (and their SDKs/agents) call."""
    services = ec2.InterfaceVpcEndpointAwsService
    return {
        "execute-api": services.APIGATEWAY,
        "states": services.STEP_FUNCTIONS,
        "kms": services.KMS,
        "logs": services.CLOUDWATCH_LOGS,
        "sts": services.STS,
        "sqs": services.SQS,
        "xray": services.XRAY,
        "lambda": services.LAMBDA_,
    }


HTTPS_PORT = 443


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: JukiConfig, data: DataStore) -> None:
        super().__init__(scope, construct_id)
        self.flow_log_group = data.log_group(self, "FlowLogs")
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDB": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
            # The Government Cloud baseline closes the default security group (Config rule with
            # auto-remediation); restricting it here would add a custom-resource Lambda outside the VPC.
            restrict_default_security_group=False,
        )
        self.isolated_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        https = ec2.Port.tcp(HTTPS_PORT)
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(config.vpc_cidr), https, "HTTPS from the VPC"
        )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            name: self.vpc.add_interface_endpoint(
                f"Endpoint-{name}",
                service=service,
                private_dns_enabled=True,
                subnets=self.isolated_subnets,
                security_groups=[self.endpoint_security_group],
                open=False,
            )
            for name, service in interface_endpoint_services().items()
        }

        self.function_security_group = ec2.SecurityGroup(
            self,
            "FunctionSecurityGroup",
            vpc=self.vpc,
            description="Lambda functions: HTTPS out to the VPC endpoints only (no internet path exists)",
            allow_all_outbound=False,
        )
        # 443 to anywhere: interface endpoints and the S3/DynamoDB gateway endpoint prefix lists.
        self.function_security_group.add_egress_rule(ec2.Peer.any_ipv4(), https, "HTTPS to VPC endpoints")

    @property
    def api_endpoint(self) -> ec2.InterfaceVpcEndpoint:
        return self.interface_endpoints["execute-api"]
