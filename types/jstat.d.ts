// jstat ships no types; only what this project calls is declared.
declare module "jstat" {
  const pkg: {
    jStat: {
      studentt: {
        cdf(x: number, dof: number): number;
        inv(p: number, dof: number): number;
      };
      centralF: {
        inv(p: number, df1: number, df2: number): number;
      };
      normal: {
        cdf(x: number, mean: number, std: number): number;
        inv(p: number, mean: number, std: number): number;
      };
    };
  };
  export default pkg;
}
