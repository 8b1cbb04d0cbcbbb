terraform {
  # 1.11: write-only arguments, so generated secrets never enter the state.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: secret_string_wo on aws_secretsmanager_secret_version and the
      # region attribute of aws_region.
      version = ">= 6.0.0, < 7.0.0"
    }
    random = {
      source = "hashicorp/random"
      # 3.7 added the ephemeral random_password.
      version = ">= 3.7.0"
    }
  }
}
