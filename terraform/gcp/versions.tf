terraform {
  # 1.11: write-only arguments, so generated secrets never enter the state.
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # secret_data_wo on google_secret_manager_secret_version.
      version = ">= 6.23.0, < 8.0.0"
    }
    random = {
      source = "hashicorp/random"
      # 3.7 added the ephemeral random_password.
      version = ">= 3.7.0"
    }
  }
}
