/** The stock of one SKU as the API returns it. */
export interface Stock {
  readonly sku: string;
  readonly quantity: number;
}
